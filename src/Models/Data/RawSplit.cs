using TrainingService.Contracts.Datasets;

namespace TrainingService.Models.Data;

/// <summary>
/// One split of an IDX dataset as flat byte arrays, ready to be wrapped in tensors: pixels are
/// 0..255 grey values, image after image, each <see cref="Rows"/>×<see cref="Columns"/> in
/// row-major order; labels are below the geometry's class count.
/// </summary>
public sealed class RawSplit
{
    public RawSplit(byte[] pixels, byte[] labels, int count, ImageGeometry geometry)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(geometry);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (pixels.Length != count * geometry.BytesPerImage)
        {
            throw new ArgumentException(
                $"Expected {count} × {geometry.BytesPerImage} pixels, got {pixels.Length}.", nameof(pixels));
        }

        if (labels.Length != count)
        {
            throw new ArgumentException($"Expected {count} labels, got {labels.Length}.", nameof(labels));
        }

        Pixels = pixels;
        Labels = labels;
        Count = count;
        Geometry = geometry;
    }

    /// <summary><see cref="Count"/> × <see cref="Rows"/> × <see cref="Columns"/> grey values.</summary>
    public byte[] Pixels { get; }

    /// <summary><see cref="Count"/> labels, in the same order as the images.</summary>
    public byte[] Labels { get; }

    public int Count { get; }

    public ImageGeometry Geometry { get; }

    public int Rows => Geometry.Rows;

    public int Columns => Geometry.Columns;
}
