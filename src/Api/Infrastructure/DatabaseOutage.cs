using System.Data.Common;
using System.Net.Sockets;
using Npgsql;

namespace TrainingService.Api.Infrastructure;

/// <summary>
/// Tells an unreachable database (stopped, restarting, network gone) from a bug: the first is a
/// 503 the client may retry, the second a 500. Mostly provider-neutral — what ADO.NET's
/// <see cref="DbException"/> exposes, so PostgreSQL and SQLite answer alike — plus Npgsql's
/// client-side errors, which are about the connection, never about the query.
/// </summary>
public static class DatabaseOutage
{
    /// <summary>How long a client should wait before trying again, in seconds (the Retry-After header).</summary>
    public const int RetryAfterSeconds = 5;

    public static bool Is(Exception? exception) => exception switch
    {
        null => false,
        AggregateException all => all.InnerExceptions.Any(Is),
        DbException db when db.IsTransient || IsUnavailableState(db.SqlState) => true,
        // Npgsql's own errors, as opposed to the server's (PostgresException): the connection could
        // not be made or broke — the server went away while a pooled connection was in use.
        NpgsqlException and not PostgresException => true,
        SocketException or TimeoutException => true,
        _ => Is(exception.InnerException),
    };

    /// <summary>SQLSTATE class 08 (connection exception) and 57P0x (the server is shutting down or starting up).</summary>
    private static bool IsUnavailableState(string? sqlState) =>
        sqlState is { Length: 5 } && (sqlState.StartsWith("08", StringComparison.Ordinal) || sqlState.StartsWith("57P0", StringComparison.Ordinal));
}
