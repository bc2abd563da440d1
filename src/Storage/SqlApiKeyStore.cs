using TrainingService.Contracts.Access;

namespace TrainingService.Storage;

/// <summary><see cref="IApiKeyStore"/> in SQL, on either engine: table <c>api_keys</c>, keys by their SHA-256 only.</summary>
public sealed class SqlApiKeyStore(JobDatabase database) : IApiKeyStore
{
    private const string Columns = "id, name, is_admin, key_sha256, created_at, revoked_at";

    public Task CreateApiKeyAsync(ApiKeyRecord key, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(key);
        return database.ExecuteAsync($"INSERT INTO api_keys ({Columns}) VALUES (@Id, @Name, @IsAdmin, @KeySha256, @CreatedAt, @RevokedAt)", new
        {
            Id = database.Id(key.Id),
            key.Name,
            key.IsAdmin,
            key.KeySha256,
            CreatedAt = database.Time(key.CreatedAt),
            RevokedAt = database.Time(key.RevokedAt),
        }, cancellationToken);
    }

    public async Task<ApiKeyRecord?> FindApiKeyAsync(string keySha256, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(keySha256);
        return (await database.QueryFirstOrDefaultAsync<ApiKeyRow>($"SELECT {Columns} FROM api_keys WHERE key_sha256 = @Hash",
            new { Hash = keySha256 }, cancellationToken))?.ToRecord();
    }

    public async Task<IReadOnlyList<ApiKeyRecord>> ListApiKeysAsync(CancellationToken cancellationToken) =>
        [.. (await database.QueryAsync<ApiKeyRow>($"SELECT {Columns} FROM api_keys ORDER BY created_at, id", null, cancellationToken)).Select(row => row.ToRecord())];

    public async Task<bool> RevokeApiKeyAsync(Guid id, DateTimeOffset now, CancellationToken cancellationToken) =>
        await database.ExecuteAsync("UPDATE api_keys SET revoked_at = @Now WHERE id = @Id AND revoked_at IS NULL",
            new { Id = database.Id(id), Now = database.Time(now) }, cancellationToken) > 0;
}

/// <summary>A row of <c>api_keys</c>.</summary>
internal sealed class ApiKeyRow
{
    public Guid Id { get; init; }
    public required string Name { get; init; }
    public bool IsAdmin { get; init; }
    public required string KeySha256 { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }

    public ApiKeyRecord ToRecord() => new(Id, Name, IsAdmin, KeySha256, CreatedAt, RevokedAt);
}
