using Npgsql;
using TrainingService.Api.Infrastructure;
using TrainingService.Tests.Shared;

namespace TrainingService.Api.Tests;

/// <summary>
/// Which errors answer 503 (the database is away; retry) rather than 500 (a bug), with exceptions
/// raised by real connections: a server that is not there, and a real server refusing bad SQL.
/// (Faults.Tests stops a real server under a running service.)
/// </summary>
public sealed class DatabaseOutageTests
{
    [Fact]
    public async Task A_server_that_cannot_be_reached_is_an_outage_even_inside_an_aggregate()
    {
        // Port 1 on loopback: nothing listens, so the connection is refused.
        await using var connection = new NpgsqlConnection("Host=127.0.0.1;Port=1;Username=x;Password=x;Timeout=5");
        var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => connection.OpenAsync());

        Assert.True(DatabaseOutage.Is(refused));
        Assert.True(DatabaseOutage.Is(new InvalidOperationException("wrapped", refused)));
        Assert.True(DatabaseOutage.Is(new AggregateException(new ArgumentException("other"), refused)));
    }

    [Fact]
    public async Task An_error_in_the_query_is_not_an_outage()
    {
        await using var connection = new NpgsqlConnection(await TestPostgresServer.ConnectionStringAsync());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELEC 1", connection);
        var syntax = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());

        Assert.False(DatabaseOutage.Is(syntax));
        Assert.False(DatabaseOutage.Is(new InvalidOperationException("a bug")));
        Assert.False(DatabaseOutage.Is(null));
    }
}
