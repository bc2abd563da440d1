using System.Security.Claims;
using Microsoft.Extensions.Options;
using TrainingService.Contracts;

namespace TrainingService.Api.Security;

/// <summary>
/// Who is asking, as far as jobs and sweeps are concerned. With authentication off everyone sees
/// everything and what is submitted has no owner; with it on, a key's holder sees the jobs and sweeps
/// of the key's name, and an admin sees all of them (including the owner-less ones submitted while it was off).
/// </summary>
public sealed record Caller(bool AuthEnabled, string? Owner, bool IsAdmin, string? KeyId)
{
    public bool CanSee(JobRecord job) => CanSeeOwnedBy(job.Owner);

    /// <summary>A sweep follows the same rule as a job: its jobs carry its owner.</summary>
    public bool CanSee(SweepRecord sweep) => CanSeeOwnedBy(sweep.Owner);

    /// <summary>The owner a listing is restricted to, or null for everything.</summary>
    public string? ListingOwner =>
        !AuthEnabled || IsAdmin ? null
        : Owner ?? throw new InvalidOperationException("An unauthenticated caller reached a listing; /jobs and /sweeps require a key when authentication is on.");

    /// <summary>Whether this caller may see a job or sweep of <paramref name="owner"/> (null: created with authentication off).</summary>
    public bool CanSeeOwnedBy(string? owner) =>
        !AuthEnabled || IsAdmin || (Owner is not null && string.Equals(owner, Owner, StringComparison.Ordinal));

    public static Caller Of(HttpContext context)
    {
        var enabled = context.RequestServices.GetRequiredService<IOptions<AuthOptions>>().Value.IsEnabled;
        var user = context.User;
        if (!enabled || user.Identity?.IsAuthenticated != true)
            return new Caller(enabled, null, false, null);
        return new Caller(enabled, user.FindFirstValue(ApiKeyClaims.Owner), user.HasClaim(ApiKeyClaims.Admin, "true"), user.FindFirstValue(ApiKeyClaims.KeyId));
    }
}

/// <summary>The claims an authenticated key carries.</summary>
public static class ApiKeyClaims
{
    public const string Owner = ClaimTypes.Name;
    public const string Admin = "trainingservice:admin";
    public const string KeyId = "trainingservice:key_id";
}
