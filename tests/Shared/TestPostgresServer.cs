using System.Net.Sockets;
using Testcontainers.PostgreSql;

namespace TrainingService.Tests.Shared;

/// <summary>
/// The PostgreSQL server the tests create their databases on: the one named by
/// <c>TRAININGSERVICE_TEST_POSTGRES</c> (scripts/test.sh starts one from Debian's package and sets
/// it), else — where a Docker engine answers — a container started once per test process with
/// Testcontainers. With neither, tests that need it fail saying how to get one; they never skip.
/// </summary>
public static class TestPostgresServer
{
    public const string Variable = "TRAININGSERVICE_TEST_POSTGRES";

    private static readonly Lazy<Task<string>> server = new(StartAsync);

    /// <summary>A connection string to the server's <c>postgres</c> database, as a user who may create databases.</summary>
    public static Task<string> ConnectionStringAsync() => server.Value;

    /// <summary>The same, for callers that cannot await (test-class constructors, static helpers).</summary>
    public static string ConnectionString => server.Value.GetAwaiter().GetResult();

    private static async Task<string> StartAsync()
    {
        if (Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } configured)
            return configured;
        if (!DockerEngineAnswers())
            throw new InvalidOperationException(
                $"{Variable} is not set and no Docker engine answers, so the PostgreSQL tests have no server. " +
                "Run the tests through scripts/test.sh (it starts a throwaway PostgreSQL), or start one with " +
                $"`eval \"$(scripts/postgres.sh start)\"` and run them in that shell.");

        // Testcontainers' resource reaper removes the container when this process ends.
        var container = new PostgreSqlBuilder("postgres:15-alpine").Build();
        await container.StartAsync();
        return container.GetConnectionString();
    }

    /// <summary>True when DOCKER_HOST is set or the default engine socket accepts a connection.</summary>
    private static bool DockerEngineAnswers()
    {
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")))
            return true;
        const string socketPath = "/var/run/docker.sock";
        if (!File.Exists(socketPath))
            return false;
        try
        {
            using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            socket.Connect(new UnixDomainSocketEndPoint(socketPath));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
