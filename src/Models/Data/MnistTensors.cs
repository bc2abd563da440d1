using TorchSharp;
using static TorchSharp.torch;

namespace TrainingService.Models.Data;

/// <summary>
/// One MNIST split as two tensors on the training device: images float32 [N, 1, 28, 28]
/// normalised as the notebook does ((x/255 − 0.5)/0.5, i.e. into [−1, 1]) and labels int64 [N].
/// Loading the whole split once means the training loop never builds per-sample objects or
/// copies from the host: a batch is an index_select on the device.
/// </summary>
public sealed class MnistTensors : IDisposable
{
    public const int Rows = 28;
    public const int Columns = 28;

    public Tensor Images { get; }
    public Tensor Labels { get; }
    public int Count { get; }

    private MnistTensors(Tensor images, Tensor labels)
    {
        Images = images;
        Labels = labels;
        Count = (int)labels.shape[0];
    }

    /// <summary>Wraps tensors already shaped as this class holds them (images [N, 1, 28, 28] float32, labels [N] int64); takes ownership.</summary>
    public static MnistTensors FromTensors(Tensor images, Tensor labels)
    {
        if (images.dim() != 4 || images.shape[1] != 1 || images.shape[2] != Rows || images.shape[3] != Columns || images.dtype != ScalarType.Float32)
            throw new ArgumentException($"Images must be float32 [N, 1, {Rows}, {Columns}]; got {images.dtype} [{string.Join(", ", images.shape)}].", nameof(images));
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0] || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"Labels must be int64 [{images.shape[0]}]; got {labels.dtype} [{string.Join(", ", labels.shape)}].", nameof(labels));
        return new MnistTensors(images, labels);
    }

    /// <summary>Reads one split from <paramref name="directory"/> (checksums verified) onto <paramref name="device"/>.</summary>
    public static MnistTensors Load(string directory, MnistSplit split, Device device, int? take = null)
    {
        var raw = MnistLoader.Load(directory, split);
        return FromBytes(raw.Pixels, raw.Labels, device, take);
    }

    /// <param name="pixels">count × 28 × 28 grey levels, row-major, as stored in the IDX file.</param>
    /// <param name="labels">count labels 0–9.</param>
    /// <param name="take">Keep only the first <paramref name="take"/> images (quick runs); null keeps all.</param>
    public static MnistTensors FromBytes(byte[] pixels, byte[] labels, Device device, int? take = null)
    {
        var count = labels.Length;
        if (pixels.Length != (long)count * Rows * Columns)
            throw new ArgumentException($"Expected {count} × {Rows} × {Columns} pixels for {count} labels; got {pixels.Length}.", nameof(pixels));
        var keep = Math.Min(take ?? count, count);

        using var scope = NewDisposeScope();
        // Convert on the device: uint8 is a quarter of float32's bytes to move.
        var images = tensor(pixels, [count, 1, Rows, Columns]).narrow(0, 0, keep).to(device)
            .to_type(ScalarType.Float32).div_(255).sub_(0.5).div_(0.5);
        var labelTensor = tensor(labels, [count]).narrow(0, 0, keep).to(device).to_type(ScalarType.Int64);
        return new MnistTensors(images.MoveToOuterDisposeScope(), labelTensor.MoveToOuterDisposeScope());
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
