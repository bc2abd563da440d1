using System.Security.Cryptography;
using System.Text;

namespace TrainingService.Api.Tests.Infrastructure;

/// <summary>
/// How a receiver verifies a webhook, exactly as docs/webhooks.md tells users to: the text between the
/// markers below is the documentation's C# example, and a test fails when the two differ.
/// </summary>
public static class WebhookVerification
{
    // docs:start
    /// <summary>True when the X-TrainingService-Signature header fits the body and is at most 5 minutes old.</summary>
    public static bool IsValid(string signatureHeader, byte[] body, string secret, DateTimeOffset now)
    {
        var fields = signatureHeader.Split(',').Select(f => f.Split('=', 2)).Where(f => f.Length == 2).ToLookup(f => f[0], f => f[1]);
        if (!long.TryParse(fields["t"].FirstOrDefault(), out var t) || Math.Abs(now.ToUnixTimeSeconds() - t) > 300)
            return false; // no time, or too old (a replay) or too far ahead
        var signed = Encoding.UTF8.GetBytes($"{t}.").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
        return fields["v1"].Any(v1 => v1.Length == 64 && v1.All(Uri.IsHexDigit)
            && CryptographicOperations.FixedTimeEquals(expected, Convert.FromHexString(v1)));
    }
    // docs:end
}
