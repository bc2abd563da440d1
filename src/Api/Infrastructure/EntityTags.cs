using System.Security.Cryptography;
using System.Text;
using Microsoft.Net.Http.Headers;

namespace TrainingService.Api.Infrastructure;

/// <summary>Strong entity tags from content fingerprints, and the If-None-Match check that goes with them.</summary>
public static class EntityTags
{
    /// <summary>A quoted tag from the SHA-256 of <paramref name="fingerprint"/> (first 128 bits: plenty to tell versions apart).</summary>
    public static EntityTagHeaderValue FromFingerprint(string fingerprint)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(fingerprint));
        return new EntityTagHeaderValue($"\"{Convert.ToHexStringLower(hash.AsSpan(0, 16))}\"");
    }

    /// <summary>True when the request's If-None-Match names <paramref name="tag"/> (or is <c>*</c>): the client's copy is current.</summary>
    public static bool IfNoneMatchHits(HttpRequest request, EntityTagHeaderValue tag)
    {
        var header = request.Headers.IfNoneMatch;
        if (header.Count == 0 || !EntityTagHeaderValue.TryParseList(header, out var candidates))
            return false;
        // If-None-Match uses the weak comparison (RFC 9110, 13.1.2).
        return candidates.Any(candidate => candidate.Equals(EntityTagHeaderValue.Any) || candidate.Compare(tag, useStrongComparison: false));
    }
}
