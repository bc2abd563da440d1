using System.Data.Common;

namespace TrainingService.Api.Infrastructure;

/// <summary>
/// Tells an unreachable database (stopped, restarting, network gone) from a bug: the first is a
/// 503 the client may retry, the second a 500. Provider-neutral: it reads only what ADO.NET's
/// <see cref="DbException"/> exposes, so PostgreSQL and SQLite answer alike.
/// </summary>
public static class DatabaseOutage
{
    /// <summary>How long a client should wait before trying again, in seconds (the Retry-After header).</summary>
    public const int RetryAfterSeconds = 5;

    public static bool Is(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is DbException db && (db.IsTransient || IsUnavailableState(db.SqlState)))
                return true;
        }
        return false;
    }

    /// <summary>SQLSTATE class 08 (connection exception) and 57P0x (the server is shutting down or starting up).</summary>
    private static bool IsUnavailableState(string? sqlState) =>
        sqlState is { Length: 5 } && (sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("57P0", StringComparison.Ordinal));
}
