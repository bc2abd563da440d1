using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace TrainingService.Api.Webhooks;

/// <summary>
/// The signature every webhook carries in <see cref="Header"/>:
/// <c>t=&lt;unix seconds&gt;,v1=&lt;hex HMAC-SHA256 of "&lt;t&gt;.&lt;body&gt;" keyed with the secret&gt;</c>.
/// The time is part of what is signed, so a receiver that rejects old times (docs/webhooks.md says 5
/// minutes) cannot be fed a recorded request again later; <c>v1</c> names the scheme, so another can
/// be added beside it without breaking receivers.
/// </summary>
public static class WebhookSignature
{
    public const string Header = "X-TrainingService-Signature";
    public const string EventHeader = "X-TrainingService-Event";
    public const string DeliveryHeader = "X-TrainingService-Delivery";

    /// <summary>The header's value for <paramref name="body"/> sent at <paramref name="time"/>.</summary>
    public static string Sign(string secret, ReadOnlySpan<byte> body, DateTimeOffset time)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var t = time.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var signed = new byte[t.Length + 1 + body.Length];
        Encoding.ASCII.GetBytes(t + ".", signed);
        body.CopyTo(signed.AsSpan(t.Length + 1));
        var mac = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        return $"t={t},v1={Convert.ToHexStringLower(mac)}";
    }
}
