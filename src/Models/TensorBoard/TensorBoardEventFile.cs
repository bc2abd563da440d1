using System.Globalization;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Models.TensorBoard;

/// <summary>
/// A run's TensorBoard event file: per-epoch scalars, appended as epochs finish, one file per run
/// kept across attempts. Opening an existing file reads it back, drops a record torn by a crash,
/// and remembers which epochs it holds, so writing an epoch twice (a resumed attempt backfilling
/// from its checkpoints) adds nothing. Not thread-safe: one attempt writes at a time. No handle is
/// held between appends: an open file would keep a checkpoint volume busy (it could not be
/// remounted or unmounted) for as long as a run lasts.
/// </summary>
public sealed class TensorBoardEventFile
{
    public const string FileVersion = "brain.Event:2";

    private readonly HashSet<long> steps = [];

    private TensorBoardEventFile(string path) => Path = path;

    /// <summary>
    /// TensorBoard finds event files by <c>tfevents</c> in the name; the run's creation time keeps
    /// the name the same for every attempt, so all write the same file.
    /// </summary>
    public static string FileNameFor(DateTimeOffset runCreatedAt) =>
        string.Create(CultureInfo.InvariantCulture, $"events.out.tfevents.{runCreatedAt.ToUnixTimeSeconds()}.trainingservice");

    /// <summary>
    /// The event file this service already wrote in <paramref name="folder"/> (a resumed run), or a
    /// new one named by <paramref name="now"/>: for runs without a fixed creation time, such as the
    /// command line's.
    /// </summary>
    public static TensorBoardEventFile OpenInFolder(string folder, DateTimeOffset now)
    {
        var existing = Directory.Exists(folder)
            ? Directory.EnumerateFiles(folder, "events.out.tfevents.*.trainingservice").Order(StringComparer.Ordinal).FirstOrDefault()
            : null;
        return Open(existing ?? System.IO.Path.Combine(folder, FileNameFor(now)), now);
    }

    public string Path { get; }

    /// <summary>The epochs (steps) the file holds scalars for.</summary>
    public IReadOnlySet<long> Epochs => steps;

    public static TensorBoardEventFile Open(string path, DateTimeOffset now)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path))!);
        var file = new TensorBoardEventFile(System.IO.Path.GetFullPath(path));
        bool empty;
        using (var stream = new FileStream(file.Path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read))
        {
            var (records, intact) = TfRecord.ReadAll(stream);
            foreach (var record in records)
            {
                var e = EventProto.Decode(record);
                if (e.Scalars.Count > 0) file.steps.Add(e.Step);
            }
            stream.SetLength(intact);
            empty = records.Count == 0;
        }
        if (empty)
            file.Append(new TensorBoardEvent(WallTime(now), 0, FileVersion, []));
        return file;
    }

    /// <summary>Appends the epoch's scalars at step = epoch, stamped <paramref name="finishedAt"/>, unless the file has them already.</summary>
    public void WriteEpoch(EpochMetrics m, DateTimeOffset finishedAt)
    {
        if (steps.Contains(m.Epoch))
            return;
        Append(new TensorBoardEvent(WallTime(finishedAt), m.Epoch, null,
        [
            new("loss/train", (float)m.TrainLoss),
            new("loss/test", (float)m.TestLoss),
            new("accuracy/train", (float)m.TrainAccuracy),
            new("accuracy/test", (float)m.TestAccuracy),
            new("learning_rate", (float)m.LearningRate),
            new("throughput/samples_per_second", (float)m.SamplesPerSecond),
            new("time/epoch_seconds", (float)m.EpochSeconds),
        ]));
        steps.Add(m.Epoch);
    }

    /// <summary>Reads every intact event of a file, for tests and tools.</summary>
    public static IReadOnlyList<TensorBoardEvent> ReadAll(string path)
    {
        using var stream = File.OpenRead(path);
        return [.. TfRecord.ReadAll(stream).Records.Select(r => EventProto.Decode(r))];
    }

    private void Append(TensorBoardEvent e)
    {
        // Closed at once, so TensorBoard, reading the file as it grows, sees each epoch as it ends.
        using var stream = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read);
        TfRecord.Write(stream, EventProto.Encode(e));
    }

    private static double WallTime(DateTimeOffset time) => time.ToUnixTimeMilliseconds() / 1000.0;
}
