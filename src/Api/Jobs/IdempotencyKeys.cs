namespace TrainingService.Api.Jobs;

/// <summary>The client's Idempotency-Key, as stored.</summary>
public static class IdempotencyKeys
{
    /// <summary>
    /// Idempotency-Key values are the client's own names, so they are scoped to the owner: another
    /// owner's key of the same text neither returns nor reveals their job. A unit separator joins them,
    /// which neither a key's name nor an Idempotency-Key (visible ASCII) may contain.
    /// </summary>
    public static string? Scope(string? owner, string? idempotencyKey) =>
        owner is null || idempotencyKey is null ? idempotencyKey : owner + '\u001f' + idempotencyKey;
}
