using Npgsql;
using TrainingService.Tests.Shared;
using TrainingService.Storage;
using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

/// <summary>
/// The store suite on PostgreSQL: each test on a new database (<c>test_&lt;guid&gt;</c>) created on the
/// server in <c>$TRAININGSERVICE_TEST_POSTGRES</c> and dropped afterwards. Without that variable
/// every test fails, saying how to get a server: these tests are never skipped.
/// </summary>
public sealed class PostgresJobStoreTests : JobStoreTests
{
    private readonly List<string> _databases = [];

    // The server in $TRAININGSERVICE_TEST_POSTGRES, or a Testcontainers one where Docker answers;
    // with neither this throws, saying how to get one.
    private static NpgsqlConnectionStringBuilder Server() => new(TestPostgresServer.ConnectionString);

    private static string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder(Server().ConnectionString) { Database = database }.ConnectionString;

    private static async Task ExecuteOnServerAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(ConnectionString("postgres"));
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    protected override async Task<string> CreateDatabaseAsync()
    {
        var name = $"test_{Guid.NewGuid():N}";
        await ExecuteOnServerAsync($"CREATE DATABASE {name}");
        _databases.Add(name);
        return ConnectionString(name);
    }

    protected override JobDatabase OpenDatabase(string database) => new PostgresJobDatabase(database);

    protected override string Dialect => "postgresql";

    protected override async Task<IReadOnlyList<string?>> QueryColumnAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string?>();
        while (await reader.ReadAsync())
            values.Add(reader.IsDBNull(0) ? null : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        return values;
    }

    protected override async Task ExecuteSqlAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(database) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    protected override string TimeLiteral(DateTimeOffset time) =>
        $"TIMESTAMPTZ '{time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", System.Globalization.CultureInfo.InvariantCulture)}+00'";

    protected override JobDatabase OpenUnreachableDatabase() =>
        // Nothing listens on port 1: the connection is refused at once.
        new PostgresJobDatabase("Host=127.0.0.1;Port=1;Username=nobody;Password=none;Database=none;Timeout=5");

    protected override async Task DropDatabasesAsync()
    {
        foreach (var name in _databases)
            await ExecuteOnServerAsync($"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
    }
}
