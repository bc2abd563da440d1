namespace TrainingService.Models.Data;

/// <summary>Progress of one file's download from one mirror.</summary>
/// <param name="FileName">Name of the file being downloaded, e.g. <c>train-images-idx3-ubyte.gz</c>.</param>
/// <param name="BytesReceived">Bytes received so far from <paramref name="Source"/>.</param>
/// <param name="TotalBytes">The size the server announced, or null if it did not say.</param>
/// <param name="Source">The URL being downloaded; it changes when the downloader falls back to another mirror.</param>
public sealed record DownloadProgress(string FileName, long BytesReceived, long? TotalBytes, Uri Source);
