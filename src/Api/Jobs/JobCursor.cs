using System.Buffers.Text;
using System.Globalization;
using System.Text;
using TrainingService.Contracts;

namespace TrainingService.Api.Jobs;

/// <summary>
/// The opaque paging cursor of <c>GET /jobs</c>: the (CreatedAt, Id) of the last job on the page,
/// versioned and base64url-encoded. Opaque so clients do not build their own; the version lets
/// its format change without breaking cursors held during a deploy.
/// </summary>
public static class JobCursorCodec
{
    private const string Version = "v1";

    public static string Encode(JobCursor cursor)
    {
        var text = string.Create(CultureInfo.InvariantCulture, $"{Version}|{cursor.CreatedAt.UtcTicks}|{cursor.Id:N}");
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
    }

    public static bool TryDecode(string value, out JobCursor? cursor)
    {
        cursor = null;
        if (value.Length is 0 or > 200)
            return false;
        byte[] bytes;
        try
        {
            bytes = Base64Url.DecodeFromChars(value);
        }
        catch (FormatException)
        {
            return false;
        }
        var parts = Encoding.UTF8.GetString(bytes).Split('|');
        if (parts.Length != 3 || parts[0] != Version
            || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
            || ticks < DateTimeOffset.MinValue.UtcTicks || ticks > DateTimeOffset.MaxValue.UtcTicks
            || !Guid.TryParseExact(parts[2], "N", out var id))
            return false;
        cursor = new JobCursor(new DateTimeOffset(ticks, TimeSpan.Zero), id);
        return true;
    }
}
