namespace TrainingService.Api.Security;

/// <summary>
/// Authentication with API keys, bound from the <c>Auth</c> section (<c>Auth__Enabled</c>).
/// Unset, it is on whenever PostgreSQL is configured (a shared, production layout) and off only
/// in the embedded local mode, where the service is one process on a developer's machine.
/// </summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>True: every <c>/jobs</c> request needs a key. Null until resolved from the storage mode (see <see cref="SecurityHosting"/>).</summary>
    public bool? Enabled { get; set; }

    public bool IsEnabled => Enabled == true;

    /// <summary>
    /// A first admin key, for deployments where running the CLI against the database is awkward
    /// (containers): when set, the service makes sure a key with this value exists (as its SHA-256,
    /// owner <see cref="BootstrapAdminName"/>, admin) at start. A secret: give it through the
    /// environment or a secret store, never in a file in the image. Empty means none.
    /// </summary>
    public string? BootstrapAdminKey { get; set; }

    /// <summary>The owner name of the bootstrap admin key.</summary>
    public string BootstrapAdminName { get; set; } = "admin";

    /// <summary>The shortest bootstrap key accepted: 32 characters, as guessable as a 190-bit random string at worst.</summary>
    public const int MinBootstrapKeyLength = 32;
}

/// <summary>
/// Limits on job submission, bound from the <c>Limits</c> section. The defaults let one client
/// post a few hundred jobs in a burst (the service benchmark posts 200 at once) while stopping a
/// runaway loop; lower them for a shared deployment.
/// </summary>
public sealed class LimitsOptions
{
    public const string SectionName = "Limits";

    /// <summary>POST /jobs requests one key (or, with authentication off, one client address) may make per window.</summary>
    public int SubmissionsPerWindow { get; set; } = 600;

    /// <summary>The rate limit's fixed window.</summary>
    public TimeSpan SubmissionWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// With authentication on: how many jobs one owner may have queued, running, cancelling or
    /// interrupted at once; a submission beyond it gets 429. 0 turns the cap off.
    /// </summary>
    public int MaxUnfinishedJobsPerKey { get; set; } = 1000;

    /// <summary>Why these settings cannot be used, or null when they can.</summary>
    public string? Validate()
    {
        if (SubmissionsPerWindow < 1)
            return $"{SectionName}:SubmissionsPerWindow must be at least 1; got {SubmissionsPerWindow}.";
        if (SubmissionWindow < TimeSpan.FromSeconds(1) || SubmissionWindow > TimeSpan.FromDays(1))
            return $"{SectionName}:SubmissionWindow must be from 00:00:01 to 1.00:00:00; got {SubmissionWindow}.";
        if (MaxUnfinishedJobsPerKey < 0)
            return $"{SectionName}:MaxUnfinishedJobsPerKey must be 0 (no cap) or more; got {MaxUnfinishedJobsPerKey}.";
        return null;
    }
}
