namespace TrainingService.Models.Training;

/// <summary>The outcome of evaluating a model on a labelled set.</summary>
public sealed record EvaluationResult(
    double Loss,
    double Accuracy,
    int Samples,
    /// <summary>ConfusionMatrix[trueClass][predictedClass] = number of images.</summary>
    long[][] ConfusionMatrix)
{
    /// <summary>For each class, the fraction of its images classified correctly (NaN for a class with no images).</summary>
    public double[] PerClassAccuracy => ConfusionMatrix
        .Select((row, label) => row.Sum() is var total and > 0 ? (double)row[label] / total : double.NaN)
        .ToArray();
}
