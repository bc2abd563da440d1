using System.Net.Http.Headers;
using TrainingService.Contracts.Datasets;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>Dataset uploads as a client sends them (multipart/form-data), and what the volume holds, for "nothing was left behind".</summary>
public static class Uploads
{
    /// <summary>The four files of a small real dataset (the first images of MNIST), raw, by upload field.</summary>
    public static Dictionary<string, byte[]> MnistSubset(int trainCount = 600, int testCount = 100)
    {
        var files = IdxTestFiles.MnistSubset(TestData.MnistDirectory, trainCount, testCount);
        return new Dictionary<string, byte[]>
        {
            ["trainImages"] = files[IdxFileNames.TrainImages],
            ["trainLabels"] = files[IdxFileNames.TrainLabels],
            ["testImages"] = files[IdxFileNames.TestImages],
            ["testLabels"] = files[IdxFileNames.TestLabels],
        };
    }

    /// <summary>A multipart body: each file as a part with a file name, each text field as a plain part.</summary>
    public static MultipartFormDataContent Form(IReadOnlyDictionary<string, byte[]> files, IReadOnlyDictionary<string, string>? text = null)
    {
        var form = new MultipartFormDataContent();
        foreach (var (field, bytes) in files)
        {
            var part = new ByteArrayContent(bytes);
            part.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            form.Add(part, field, field + ".idx");
        }
        foreach (var (field, value) in text ?? new Dictionary<string, string>())
            form.Add(new StringContent(value), field);
        return form;
    }

    /// <summary>Every file and folder under the checkpoint root's datasets folder, but the staging folder itself.</summary>
    public static IReadOnlyList<string> VolumeEntries(string checkpointRoot)
    {
        var root = DatasetFolder.Root(checkpointRoot);
        if (!Directory.Exists(root))
            return [];
        var staging = DatasetFolder.Staging(checkpointRoot);
        return [.. Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories).Where(e => e != staging).Order()];
    }
}
