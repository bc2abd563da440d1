using System.Net.Sockets;
using Testcontainers.PostgreSql;

namespace TrainingService.Tests.Shared;

/// <summary>
/// The PostgreSQL server the tests create their databases on: the one named by
/// <c>TRAININGSERVICE_TEST_POSTGRES</c> (scripts/test.sh starts one from Debian's package and sets
/// it), else — where a Docker-compatible engine answers (Docker, or podman's socket through
/// <c>DOCKER_HOST</c>) — a container started once per test process with Testcontainers, from
/// <c>TRAININGSERVICE_TEST_POSTGRES_IMAGE</c> (default <c>postgres:15-alpine</c>; where no registry is
/// reachable, the local image scripts/container-base-images.sh makes). With neither, tests that need
/// it fail saying how to get one; they never skip.
/// </summary>
public static class TestPostgresServer
{
    public const string Variable = "TRAININGSERVICE_TEST_POSTGRES";
    public const string ImageVariable = "TRAININGSERVICE_TEST_POSTGRES_IMAGE";

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

        var image = Environment.GetEnvironmentVariable(ImageVariable) is { Length: > 0 } named ? named : "postgres:15-alpine";
        var container = new PostgreSqlBuilder(image).Build();
        await container.StartAsync();
        // Testcontainers' resource reaper (Ryuk) removes the container when this process ends. Where
        // it cannot run (TESTCONTAINERS_RYUK_DISABLED=true: its image is unreachable, or podman), the
        // process removes it itself on the way out.
        if (string.Equals(Environment.GetEnvironmentVariable("TESTCONTAINERS_RYUK_DISABLED"), "true", StringComparison.OrdinalIgnoreCase))
            AppDomain.CurrentDomain.ProcessExit += (_, _) => container.DisposeAsync().AsTask().GetAwaiter().GetResult();
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
