namespace TrainingService.Models.Data;

/// <summary>
/// One MNIST split as flat byte arrays, ready to be wrapped in tensors: pixels are 0..255 grey
/// values, image after image, each 28×28 in row-major order; labels are the digits 0..9.
/// </summary>
public sealed class MnistRawSplit
{
    public MnistRawSplit(byte[] pixels, byte[] labels, int count)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (pixels.Length != (long)count * MnistCatalog.PixelsPerImage)
        {
            throw new ArgumentException(
                $"Expected {count} × {MnistCatalog.PixelsPerImage} pixels, got {pixels.Length}.", nameof(pixels));
        }

        if (labels.Length != count)
        {
            throw new ArgumentException($"Expected {count} labels, got {labels.Length}.", nameof(labels));
        }

        Pixels = pixels;
        Labels = labels;
        Count = count;
    }

    /// <summary><see cref="Count"/> × <see cref="Rows"/> × <see cref="Columns"/> grey values.</summary>
    public byte[] Pixels { get; }

    /// <summary><see cref="Count"/> digits, 0..9, in the same order as the images.</summary>
    public byte[] Labels { get; }

    public int Count { get; }

    public int Rows => MnistCatalog.ImageRows;

    public int Columns => MnistCatalog.ImageColumns;
}
