namespace TrainingService.Models.Data;

/// <summary>The two halves of MNIST; each is an images file plus a labels file.</summary>
public enum MnistSplit
{
    Train,
    Test,
}
