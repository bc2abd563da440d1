using System.Buffers.Binary;
using System.Numerics;

namespace TrainingService.Models.TensorBoard;

/// <summary>
/// TFRecord framing, the container of TensorBoard event files: each record is its length (uint64,
/// little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.
/// </summary>
public static class TfRecord
{
    /// <summary>CRC-32C (Castagnoli), as TensorFlow computes it; <see cref="BitOperations.Crc32C(uint, byte)"/> uses the CPU's instruction where there is one.</summary>
    public static uint Crc32C(ReadOnlySpan<byte> data)
    {
        var crc = uint.MaxValue;
        foreach (var b in data)
            crc = BitOperations.Crc32C(crc, b);
        return ~crc;
    }

    /// <summary>TensorFlow's masking, which keeps a CRC of data that itself holds CRCs from being weak: rotate right 15, add a constant.</summary>
    public static uint MaskedCrc32C(ReadOnlySpan<byte> data)
    {
        var crc = Crc32C(data);
        return unchecked(((crc >> 15) | (crc << 17)) + 0xa282ead8u);
    }

    public static void Write(Stream stream, ReadOnlySpan<byte> data)
    {
        Span<byte> header = stackalloc byte[12];
        BinaryPrimitives.WriteUInt64LittleEndian(header, (ulong)data.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], MaskedCrc32C(header[..8]));
        Span<byte> footer = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(footer, MaskedCrc32C(data));
        // One write per record, so a crash leaves at most a torn last record, which reading drops.
        var record = new byte[12 + data.Length + 4];
        header.CopyTo(record);
        data.CopyTo(record.AsSpan(12));
        footer.CopyTo(record.AsSpan(12 + data.Length));
        stream.Write(record);
    }

    /// <summary>
    /// Every intact record from the start of <paramref name="stream"/>, and the length they span.
    /// Reading stops at the first record that is short or fails a CRC: what follows it cannot be
    /// trusted, and an interrupted write can only have torn the last one.
    /// </summary>
    public static (IReadOnlyList<byte[]> Records, long IntactLength) ReadAll(Stream stream)
    {
        var records = new List<byte[]>();
        long intact = 0;
        Span<byte> header = stackalloc byte[12];
        Span<byte> footer = stackalloc byte[4];
        while (true)
        {
            if (stream.ReadAtLeast(header, 12, throwOnEndOfStream: false) < 12)
                break;
            var length = BinaryPrimitives.ReadUInt64LittleEndian(header);
            if (BinaryPrimitives.ReadUInt32LittleEndian(header[8..]) != MaskedCrc32C(header[..8]) || length > int.MaxValue)
                break;
            var data = new byte[length];
            if (stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false) < data.Length
                || stream.ReadAtLeast(footer, 4, throwOnEndOfStream: false) < 4
                || BinaryPrimitives.ReadUInt32LittleEndian(footer) != MaskedCrc32C(data))
                break;
            records.Add(data);
            intact += 12 + data.Length + 4;
        }
        return (records, intact);
    }
}
