using System.Buffers.Binary;
using System.Text;
using TrainingService.Contracts.Training;

namespace TrainingService.Models.TensorBoard;

/// <summary>A scalar as TensorBoard shows it: a tag (<c>loss/train</c>) and its value at a step.</summary>
public sealed record TensorBoardScalar(string Tag, float Value);

/// <summary>One <c>tensorflow.Event</c>: a wall time (seconds since 1970), a step, and either the file version or scalars.</summary>
public sealed record TensorBoardEvent(double WallTime, long Step, string? FileVersion, IReadOnlyList<TensorBoardScalar> Scalars);

/// <summary>
/// The few protobuf messages an event file of scalars needs, encoded by hand:
/// <c>Event { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }</c>,
/// <c>Summary { repeated Value value = 1; }</c>, <c>Value { string tag = 1; float simple_value = 2; }</c>.
/// </summary>
public static class EventProto
{
    private const int Varint = 0, Fixed64 = 1, LengthDelimited = 2, Fixed32 = 5;

    public static byte[] Encode(TensorBoardEvent e)
    {
        using var output = new MemoryStream();
        Tag(output, 1, Fixed64);
        Span<byte> eight = stackalloc byte[8];
        BinaryPrimitives.WriteDoubleLittleEndian(eight, e.WallTime);
        output.Write(eight);
        if (e.Step != 0)
        {
            Tag(output, 2, Varint);
            WriteVarint(output, (ulong)e.Step);
        }
        if (e.FileVersion is not null)
            Bytes(output, 3, Encoding.UTF8.GetBytes(e.FileVersion));
        if (e.Scalars.Count > 0)
        {
            using var summary = new MemoryStream();
            Span<byte> four = stackalloc byte[4];
            foreach (var scalar in e.Scalars)
            {
                using var value = new MemoryStream();
                Bytes(value, 1, Encoding.UTF8.GetBytes(scalar.Tag));
                Tag(value, 2, Fixed32);
                BinaryPrimitives.WriteSingleLittleEndian(four, scalar.Value);
                value.Write(four);
                Bytes(summary, 1, value.ToArray());
            }
            Bytes(output, 5, summary.ToArray());
        }
        return output.ToArray();
    }

    /// <summary>Reads an Event back; fields other than those above are skipped. Throws <see cref="InvalidDataException"/> on malformed input.</summary>
    public static TensorBoardEvent Decode(ReadOnlySpan<byte> data)
    {
        double wallTime = 0;
        long step = 0;
        string? fileVersion = null;
        var scalars = new List<TensorBoardScalar>();
        var reader = new Reader(data);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            switch (field, wire)
            {
                case (1, Fixed64): wallTime = BinaryPrimitives.ReadDoubleLittleEndian(reader.ReadFixed(8)); break;
                case (2, Varint): step = (long)reader.ReadVarint(); break;
                case (3, LengthDelimited): fileVersion = Encoding.UTF8.GetString(reader.ReadBytes()); break;
                case (5, LengthDelimited): DecodeSummary(reader.ReadBytes(), scalars); break;
                default: reader.Skip(wire); break;
            }
        }
        return new TensorBoardEvent(wallTime, step, fileVersion, scalars);
    }

    private static void DecodeSummary(ReadOnlySpan<byte> data, List<TensorBoardScalar> scalars)
    {
        var reader = new Reader(data);
        while (!reader.AtEnd)
        {
            var (field, wire) = reader.ReadTag();
            if (field != 1 || wire != LengthDelimited)
            {
                reader.Skip(wire);
                continue;
            }
            var value = new Reader(reader.ReadBytes());
            string? tag = null;
            float? simple = null;
            while (!value.AtEnd)
            {
                var (f, w) = value.ReadTag();
                switch (f, w)
                {
                    case (1, LengthDelimited): tag = Encoding.UTF8.GetString(value.ReadBytes()); break;
                    case (2, Fixed32): simple = BinaryPrimitives.ReadSingleLittleEndian(value.ReadFixed(4)); break;
                    default: value.Skip(w); break;
                }
            }
            if (tag is not null && simple is not null)
                scalars.Add(new TensorBoardScalar(tag, simple.Value));
        }
    }

    private static void Tag(Stream s, int field, int wire) => WriteVarint(s, (ulong)((field << 3) | wire));

    private static void Bytes(Stream s, int field, byte[] bytes)
    {
        Tag(s, field, LengthDelimited);
        WriteVarint(s, (ulong)bytes.Length);
        s.Write(bytes);
    }

    private static void WriteVarint(Stream s, ulong value)
    {
        while (value >= 0x80)
        {
            s.WriteByte((byte)(value | 0x80));
            value >>= 7;
        }
        s.WriteByte((byte)value);
    }

    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private readonly ReadOnlySpan<byte> data = data;
        private int position;

        public readonly bool AtEnd => position >= data.Length;

        public (int Field, int Wire) ReadTag()
        {
            var key = ReadVarint();
            return ((int)(key >> 3), (int)(key & 7));
        }

        public ulong ReadVarint()
        {
            ulong result = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                if (position >= data.Length) throw new InvalidDataException("Truncated varint.");
                var b = data[position++];
                result |= (ulong)(b & 0x7f) << shift;
                if (b < 0x80) return result;
            }
            throw new InvalidDataException("Varint longer than 10 bytes.");
        }

        public ReadOnlySpan<byte> ReadFixed(int size)
        {
            if (position + size > data.Length) throw new InvalidDataException("Truncated fixed-width field.");
            var slice = data.Slice(position, size);
            position += size;
            return slice;
        }

        public ReadOnlySpan<byte> ReadBytes()
        {
            var length = ReadVarint();
            if (length > (ulong)(data.Length - position)) throw new InvalidDataException("Length-delimited field runs past the end.");
            return ReadFixed((int)length);
        }

        public void Skip(int wire)
        {
            switch (wire)
            {
                case Varint: ReadVarint(); break;
                case Fixed64: ReadFixed(8); break;
                case LengthDelimited: ReadBytes(); break;
                case Fixed32: ReadFixed(4); break;
                default: throw new InvalidDataException($"Unsupported wire type {wire}.");
            }
        }
    }
}
