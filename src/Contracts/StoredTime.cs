namespace TrainingService.Contracts;

/// <summary>
/// How the stores keep times: UTC, to the microsecond (PostgreSQL's <c>timestamptz</c> resolution;
/// SQLite keeps the same value as integer microseconds since the Unix epoch, which orders in SQL).
/// Finer ticks are truncated, so a time reads back exactly as <see cref="Truncate"/> gives it.
/// </summary>
public static class StoredTime
{
    private const long TicksPerMicrosecond = TimeSpan.TicksPerMicrosecond;

    /// <summary>The time as the stores keep it: UTC (offset zero), truncated to the microsecond.</summary>
    public static DateTimeOffset Truncate(DateTimeOffset time)
    {
        var ticks = time.UtcTicks;
        return new DateTimeOffset(ticks - ticks % TicksPerMicrosecond, TimeSpan.Zero);
    }

    /// <summary>Microseconds since 1970-01-01 UTC, rounded down (also before 1970).</summary>
    public static long ToUnixMicroseconds(DateTimeOffset time)
    {
        var (quotient, remainder) = Math.DivRem(time.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks, TicksPerMicrosecond);
        return remainder < 0 ? quotient - 1 : quotient;
    }

    public static DateTimeOffset FromUnixMicroseconds(long microseconds) =>
        new(DateTimeOffset.UnixEpoch.UtcTicks + microseconds * TicksPerMicrosecond, TimeSpan.Zero);
}
