using Microsoft.Data.Sqlite;
using TrainingService.Storage;
using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

/// <summary>The store suite on SQLite: each test on a new database file in a temporary folder.</summary>
public sealed class SqliteJobStoreTests : JobStoreTests
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "trainingservice-jobs-tests", Guid.NewGuid().ToString("N"));

    protected override Task<string> CreateDatabaseAsync()
    {
        Directory.CreateDirectory(_folder);
        return Task.FromResult(Path.Combine(_folder, $"jobs-{Guid.NewGuid():N}.db"));
    }

    protected override JobDatabase OpenDatabase(string database) => new SqliteJobDatabase(database);

    protected override string Dialect => "sqlite";

    protected override async Task<IReadOnlyList<string?>> QueryColumnAsync(string database, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string?>();
        while (await reader.ReadAsync())
            values.Add(reader.IsDBNull(0) ? null : Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture));
        return values;
    }

    protected override async Task ExecuteSqlAsync(string database, string sql)
    {
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    protected override string TimeLiteral(DateTimeOffset time) =>
        StoredTime.ToUnixMicroseconds(time).ToString(System.Globalization.CultureInfo.InvariantCulture);

    protected override JobDatabase OpenUnreachableDatabase()
    {
        // Its folder cannot be created: a file is in the way.
        Directory.CreateDirectory(_folder);
        var blocker = Path.Combine(_folder, "not-a-folder");
        File.WriteAllText(blocker, "");
        return new SqliteJobDatabase(Path.Combine(blocker, "jobs.db"));
    }

    protected override Task DropDatabasesAsync()
    {
        if (Directory.Exists(_folder))
            Directory.Delete(_folder, recursive: true);
        return Task.CompletedTask;
    }
}
