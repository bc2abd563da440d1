using System.Buffers.Binary;
using System.Text;
using TrainingService.Models.TensorBoard;
using TrainingService.Contracts.Training;
using TrainingService.Models.Training;

namespace TrainingService.Models.Tests.TensorBoard;

public sealed class TensorBoardEventFileTests : IDisposable
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), "tensorboard-tests-" + Guid.NewGuid().ToString("N"));
    private string EventPath => Path.Combine(folder, TensorBoardEventFile.FileNameFor(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero)));

    public void Dispose()
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
    }

    private static EpochMetrics Metrics(int epoch) =>
        new(epoch, TrainLoss: 0.5 / epoch, TrainAccuracy: 0.9 + epoch / 100.0, TestLoss: 0.4 / epoch, TestAccuracy: 0.95 + epoch / 1000.0,
            LearningRate: 0.002 / epoch, EpochSeconds: 10 + epoch, SamplesPerSecond: 6000 + epoch);

    // ---- An independent reading of the format, from TensorFlow's record_writer.cc and crc32c.h.

    /// <summary>CRC-32C bit by bit (reflected polynomial 0x82F63B78), not the implementation under test.</summary>
    private static uint ReferenceCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var b in data)
        {
            crc ^= b;
            for (var i = 0; i < 8; i++)
                crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78u : crc >> 1;
        }
        return ~crc;
    }

    private static uint ReferenceMask(uint crc) => unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);

    /// <summary>Splits a file into its records, asserting every length and both CRCs of each.</summary>
    private static List<byte[]> ReadRecordsStrictly(byte[] file)
    {
        var records = new List<byte[]>();
        var position = 0;
        while (position < file.Length)
        {
            var header = file.AsSpan(position, 8);
            var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(header);
            Assert.Equal(ReferenceMask(ReferenceCrc32C(header)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position + 8, 4)));
            var data = file.AsSpan(position + 12, length);
            Assert.Equal(ReferenceMask(ReferenceCrc32C(data)), BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(position + 12 + length, 4)));
            records.Add(data.ToArray());
            position += 12 + length + 4;
        }
        Assert.Equal(file.Length, position);
        return records;
    }

    [Fact]
    public void Crc32CMatchesTheStandardCheckValue()
    {
        // The check value of CRC-32C (RFC 3720, appendix B.4 lists the same polynomial).
        Assert.Equal(0xE3069283u, TfRecord.Crc32C(Encoding.ASCII.GetBytes("123456789")));
        Assert.Equal(ReferenceMask(0xE3069283u), TfRecord.MaskedCrc32C(Encoding.ASCII.GetBytes("123456789")));
    }

    [Fact]
    public void AnEventIsEncodedAsTheProtobufWireFormatSays()
    {
        var bytes = EventProto.Encode(new TensorBoardEvent(1.5, 3, null, [new("a", 2.0f)]));

        byte[] expected =
        [
            0x09, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xF8, 0x3F, // wall_time = 1.5 (field 1, fixed64)
            0x10, 0x03,                                           // step = 3 (field 2, varint)
            0x2A, 0x0A,                                           // summary (field 5), 10 bytes
            0x0A, 0x08,                                           //   value (field 1), 8 bytes
            0x0A, 0x01, 0x61,                                     //     tag = "a"
            0x15, 0x00, 0x00, 0x00, 0x40,                         //     simple_value = 2.0f (field 2, fixed32)
        ];
        Assert.Equal(expected, bytes);
    }

    [Fact]
    public void WritesAVersionRecordThenOneEventPerEpochWithItsWallTimeAndScalars()
    {
        var opened = new DateTimeOffset(2026, 1, 2, 3, 4, 5, 250, TimeSpan.Zero);
        var first = opened.AddSeconds(41.5);
        var second = first.AddSeconds(39.125);
        {
            var file = TensorBoardEventFile.Open(EventPath, opened);
            file.WriteEpoch(Metrics(1), first);
            file.WriteEpoch(Metrics(2), second);
            // Nothing stays open between appends: an open file would keep the checkpoint volume busy.
            Assert.DoesNotContain(Path.GetFullPath(EventPath), OpenFilesOfThisProcess());
        }

        Assert.Contains("tfevents", Path.GetFileName(EventPath));
        var events = ReadRecordsStrictly(File.ReadAllBytes(EventPath)).Select(r => EventProto.Decode(r)).ToList();

        Assert.Equal(3, events.Count);
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Equal(opened.ToUnixTimeMilliseconds() / 1000.0, events[0].WallTime);
        Assert.Empty(events[0].Scalars);
        Assert.Equal([1L, 2L], events.Skip(1).Select(e => e.Step));
        Assert.Equal(first.ToUnixTimeMilliseconds() / 1000.0, events[1].WallTime);
        Assert.Equal(second.ToUnixTimeMilliseconds() / 1000.0, events[2].WallTime);
        var scalars = events[2].Scalars.ToDictionary(s => s.Tag, s => s.Value);
        var m = Metrics(2);
        Assert.Equal((float)m.TrainLoss, scalars["loss/train"]);
        Assert.Equal((float)m.TestLoss, scalars["loss/test"]);
        Assert.Equal((float)m.TrainAccuracy, scalars["accuracy/train"]);
        Assert.Equal((float)m.TestAccuracy, scalars["accuracy/test"]);
        Assert.Equal((float)m.LearningRate, scalars["learning_rate"]);
        Assert.Equal((float)m.SamplesPerSecond, scalars["throughput/samples_per_second"]);
        Assert.Equal((float)m.EpochSeconds, scalars["time/epoch_seconds"]);
    }

    [Fact]
    public void ALaterAttemptAppendsOnlyNewEpochsAfterDroppingATornRecord()
    {
        var start = DateTimeOffset.UtcNow;
        {
            var file = TensorBoardEventFile.Open(EventPath, start);
            file.WriteEpoch(Metrics(1), start.AddSeconds(1));
            file.WriteEpoch(Metrics(2), start.AddSeconds(2));
        }
        // A crash in the middle of writing epoch 3: half a record at the end.
        var whole = EventProto.Encode(new TensorBoardEvent(3, 3, null, [new("loss/train", 1f)]));
        using (var stream = new FileStream(EventPath, FileMode.Append))
        {
            var torn = new MemoryStream();
            TfRecord.Write(torn, whole);
            stream.Write(torn.ToArray().AsSpan(0, (int)torn.Length - 7));
        }

        {
            var file = TensorBoardEventFile.Open(EventPath, start.AddSeconds(10));
            Assert.Equal([1L, 2L], file.Epochs.Order());
            file.WriteEpoch(Metrics(2), start.AddSeconds(11)); // backfilled from a checkpoint: already there
            file.WriteEpoch(Metrics(3), start.AddSeconds(12));
        }

        var events = ReadRecordsStrictly(File.ReadAllBytes(EventPath)).Select(r => EventProto.Decode(r)).ToList();
        Assert.Equal("brain.Event:2", events[0].FileVersion);
        Assert.Single(events, e => e.FileVersion is not null);
        Assert.Equal([1L, 2L, 3L], events.Where(e => e.Scalars.Count > 0).Select(e => e.Step));
        Assert.Equal(start.AddSeconds(12).ToUnixTimeMilliseconds() / 1000.0, events[^1].WallTime);
        Assert.Equal(events, TensorBoardEventFile.ReadAll(EventPath), new EventComparer());
    }

    [Fact]
    public void OpeningAFolderReusesTheEventFileAlreadyThere()
    {
        var start = DateTimeOffset.UtcNow;
        string firstPath;
        {
            var file = TensorBoardEventFile.OpenInFolder(folder, start);
            firstPath = file.Path;
            file.WriteEpoch(Metrics(1), start);
        }

        {
            var again = TensorBoardEventFile.OpenInFolder(folder, start.AddHours(1));
            Assert.Equal(firstPath, again.Path);
            Assert.Equal([1L], again.Epochs);
        }
        Assert.Single(Directory.GetFiles(folder));
    }

    private sealed class EventComparer : IEqualityComparer<TensorBoardEvent>
    {
        public bool Equals(TensorBoardEvent? a, TensorBoardEvent? b) =>
            a!.WallTime == b!.WallTime && a.Step == b.Step && a.FileVersion == b.FileVersion && a.Scalars.SequenceEqual(b.Scalars);

        public int GetHashCode(TensorBoardEvent e) => e.Step.GetHashCode();
    }

    /// <summary>What this process's file descriptors point at (Linux: /proc/self/fd).</summary>
    private static List<string> OpenFilesOfThisProcess() =>
        [.. new DirectoryInfo("/proc/self/fd").EnumerateFileSystemInfos().Select(fd => fd.LinkTarget).OfType<string>()];
}
