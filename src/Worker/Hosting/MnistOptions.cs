namespace TrainingService.Worker.Hosting;

/// <summary>Where the MNIST files are. Bound from the <c>Mnist</c> section.</summary>
public sealed class MnistOptions
{
    public const string SectionName = "Mnist";

    public string DataDirectory { get; set; } = "./data/mnist";

    /// <summary>Fetch missing files from the public mirrors on first use.</summary>
    public bool Download { get; set; } = true;
}
