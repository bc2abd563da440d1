using System.Security.Cryptography;
using System.Text;

namespace TrainingService.Contracts.Access;

/// <summary>
/// An API key as stored: never the key itself, only its SHA-256, so a copy of the database
/// (or a backup, or a log of its queries) gives nobody a usable key.
/// </summary>
/// <param name="Id">The key's id: what an administrator revokes it by.</param>
/// <param name="Name">Its owner: jobs submitted with the key belong to this name, and every key of one name sees the same jobs.</param>
/// <param name="IsAdmin">Admins see and cancel every job, and may open the Hangfire dashboard from other machines.</param>
/// <param name="KeySha256">The lowercase hex SHA-256 of the key's UTF-8 text.</param>
/// <param name="CreatedAt">When it was made.</param>
/// <param name="RevokedAt">When it was revoked; null while it is valid.</param>
public sealed record ApiKeyRecord(Guid Id, string Name, bool IsAdmin, string KeySha256, DateTimeOffset CreatedAt, DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}

/// <summary>Making and hashing keys: 256 random bits, URL-safe, with a prefix that says what the string is.</summary>
public static class ApiKeys
{
    /// <summary>Marks the string as this service's key (in a leaked file or a secret scanner's report).</summary>
    public const string Prefix = "tsk_";

    /// <summary>The most a presented key may be: anything longer is not ours and is not hashed.</summary>
    public const int MaxLength = 128;

    public const int MaxNameLength = 100;

    /// <summary>A new key: the prefix and 32 bytes from the system's CSPRNG in base64url.</summary>
    public static string Generate() =>
        Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The lowercase hex SHA-256 of the key's UTF-8 bytes: what the store keeps and looks keys up by.</summary>
    public static string Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
    }

    /// <summary>A new key for <paramref name="name"/>: the record to store and the key to show once.</summary>
    public static (ApiKeyRecord Record, string Key) Create(string name, bool isAdmin, DateTimeOffset now)
    {
        var trimmed = name?.Trim() ?? "";
        if (trimmed.Length is 0 or > MaxNameLength || trimmed.Any(char.IsControl))
            throw new ArgumentException($"A key's name is 1 to {MaxNameLength} printable characters.", nameof(name));
        var key = Generate();
        var truncated = StoredTime.Truncate(now);
        return (new ApiKeyRecord(Guid.NewGuid(), trimmed, isAdmin, Hash(key), truncated, null), key);
    }
}

/// <summary>
/// The API keys, in the same database as the jobs (table <c>api_keys</c>). Workers never need it;
/// the API's authentication and the CLI's <c>keys</c> command do.
/// </summary>
public interface IApiKeyStore
{
    Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken);

    /// <summary>The key with this hash (revoked or not), or null.</summary>
    Task<ApiKeyRecord?> FindApiKeyAsync(string keySha256, CancellationToken cancellationToken);

    /// <summary>Every key, oldest first.</summary>
    Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken);

    /// <summary>Revokes a key from <paramref name="now"/> on. False when there is no such key or it was already revoked.</summary>
    Task<bool> RevokeApiKeyAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken);
}
