using Microsoft.Extensions.Options;
using TrainingService.Contracts;
using TrainingService.Contracts.Access;

namespace TrainingService.Api.Security;

/// <summary>The first admin key of a container deployment, from configuration (<c>Auth:BootstrapAdminKey</c>).</summary>
public static class BootstrapAdminKey
{
    /// <summary>
    /// Makes sure the key in <c>Auth:BootstrapAdminKey</c>, when set, exists as an admin key. Run after
    /// the schema migrations. A revoked bootstrap key stays revoked: revocation is the operator's word.
    /// </summary>
    public static async Task EnsureBootstrapAdminKeyAsync(this WebApplication app, CancellationToken cancellationToken)
    {
        var auth = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value;
        if (string.IsNullOrEmpty(auth.BootstrapAdminKey))
            return;
        var keys = app.Services.GetRequiredService<IApiKeyStore>();
        var existing = await keys.FindApiKeyAsync(ApiKeys.Hash(auth.BootstrapAdminKey), cancellationToken);
        if (existing is null)
        {
            var record = new ApiKeyRecord(Guid.NewGuid(), auth.BootstrapAdminName, IsAdmin: true, ApiKeys.Hash(auth.BootstrapAdminKey),
                StoredNow(app.Services.GetRequiredService<TimeProvider>()), RevokedAt: null);
            try
            {
                await keys.CreateApiKeyAsync(record, cancellationToken);
                app.Logger.LogInformation("Stored the bootstrap admin key (Auth:BootstrapAdminKey) as key {KeyId} for '{Name}'.", record.Id, record.Name);
            }
            catch (Exception e) when (e is System.Data.Common.DbException)
            {
                // Another API process starting at the same time stored it first (the hash is unique).
                if (await keys.FindApiKeyAsync(record.KeySha256, cancellationToken) is null)
                    throw;
            }
        }
        else if (existing.IsRevoked)
        {
            app.Logger.LogWarning("The bootstrap admin key (Auth:BootstrapAdminKey) was revoked at {RevokedAt}; it stays revoked. Remove the setting.", existing.RevokedAt);
        }
    }

    private static DateTimeOffset StoredNow(TimeProvider time) => StoredTime.Truncate(time.GetUtcNow());
}
