using TorchSharp;
using TrainingService.Contracts.Datasets;
using static TorchSharp.torch;

namespace TrainingService.Models.Data;

/// <summary>
/// One split of an image dataset as two tensors on the training device: images float32
/// [N, channels, rows, columns] normalised as the notebook does ((x/255 − 0.5)/0.5, i.e. into
/// [−1, 1]) and labels int64 [N], with the <see cref="Geometry"/> they have. Loading the whole
/// split once means the training loop never builds per-sample objects or copies from the host: a
/// batch is an index_select on the device.
/// </summary>
public sealed class ImageTensors : IDisposable
{
    public Tensor Images { get; }
    public Tensor Labels { get; }
    public int Count { get; }

    /// <summary>Image size, channels and class count: what a model for these tensors must take and give.</summary>
    public ImageGeometry Geometry { get; }

    private ImageTensors(Tensor images, Tensor labels, ImageGeometry geometry)
    {
        Images = images;
        Labels = labels;
        Geometry = geometry;
        Count = (int)labels.shape[0];
    }

    /// <summary>
    /// Wraps tensors already shaped as this class holds them (images [N, channels, rows, columns]
    /// float32, labels [N] int64); takes ownership. Without a geometry, 28×28 grey images in 10 classes.
    /// </summary>
    public static ImageTensors FromTensors(Tensor images, Tensor labels, ImageGeometry? geometry = null)
    {
        var g = geometry ?? ImageGeometry.Mnist;
        if (images.dim() != 4 || images.shape[1] != g.Channels || images.shape[2] != g.Rows || images.shape[3] != g.Columns || images.dtype != ScalarType.Float32)
            throw new ArgumentException($"Images must be float32 [N, {g.Channels}, {g.Rows}, {g.Columns}]; got {images.dtype} [{string.Join(", ", images.shape)}].", nameof(images));
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0] || labels.dtype != ScalarType.Int64)
            throw new ArgumentException($"Labels must be int64 [{images.shape[0]}]; got {labels.dtype} [{string.Join(", ", labels.shape)}].", nameof(labels));
        return new ImageTensors(images, labels, g);
    }

    /// <summary>Reads one split of <paramref name="dataset"/> from <paramref name="directory"/> (digests verified) onto <paramref name="device"/>.</summary>
    public static ImageTensors Load(string directory, DatasetInfo dataset, DatasetSplit split, Device device, int? take = null) =>
        FromRaw(DatasetLoader.Load(directory, dataset, split), device, take);

    /// <summary>Reads one MNIST split from <paramref name="directory"/> (checksums verified) onto <paramref name="device"/>.</summary>
    public static ImageTensors Load(string directory, DatasetSplit split, Device device, int? take = null) =>
        Load(directory, DatasetCatalog.Mnist, split, device, take);

    /// <param name="take">Keep only the first <paramref name="take"/> images (quick runs); null keeps all.</param>
    public static ImageTensors FromRaw(RawSplit raw, Device device, int? take = null) =>
        FromBytes(raw.Pixels, raw.Labels, device, take, raw.Geometry);

    /// <param name="pixels">count × rows × columns grey levels, row-major, as stored in the IDX file.</param>
    /// <param name="labels">count labels, each below the class count.</param>
    /// <param name="take">Keep only the first <paramref name="take"/> images (quick runs); null keeps all.</param>
    /// <param name="geometry">The images' size and class count; null: 28×28 grey in 10 classes.</param>
    public static ImageTensors FromBytes(byte[] pixels, byte[] labels, Device device, int? take = null, ImageGeometry? geometry = null)
    {
        var g = geometry ?? ImageGeometry.Mnist;
        var count = labels.Length;
        if (pixels.Length != count * g.BytesPerImage)
            throw new ArgumentException($"Expected {count} × {g.Channels} × {g.Rows} × {g.Columns} pixels for {count} labels; got {pixels.Length}.", nameof(pixels));
        var keep = Math.Min(take ?? count, count);

        using var scope = NewDisposeScope();
        // Convert on the device: uint8 is a quarter of float32's bytes to move.
        var images = tensor(pixels, [count, g.Channels, g.Rows, g.Columns]).narrow(0, 0, keep).to(device)
            .to_type(ScalarType.Float32).div_(255).sub_(0.5).div_(0.5);
        var labelTensor = tensor(labels, [count]).narrow(0, 0, keep).to(device).to_type(ScalarType.Int64);
        return new ImageTensors(images.MoveToOuterDisposeScope(), labelTensor.MoveToOuterDisposeScope(), g);
    }

    /// <summary>A view (no copy) of the first <paramref name="count"/> images, or of all; disposing the view leaves this split intact.</summary>
    public ImageTensors View(int? count)
    {
        var n = Math.Min(count ?? Count, Count);
        return new ImageTensors(Images.narrow(0, 0, n), Labels.narrow(0, 0, n), Geometry);
    }

    public void Dispose()
    {
        Images.Dispose();
        Labels.Dispose();
    }
}
