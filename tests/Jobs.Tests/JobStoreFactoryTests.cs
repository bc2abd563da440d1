using TrainingService.Jobs.Storage;

namespace TrainingService.Jobs.Tests;

public sealed class JobStoreFactoryTests
{
    [Fact]
    public async Task A_postgres_connection_string_selects_postgres()
    {
        await using var store = (SqlJobStore)JobStoreFactory.Create(new StorageOptions { PostgresConnectionString = "Host=127.0.0.1;Port=1" });

        Assert.IsType<PostgresJobStore>(store);
    }

    [Fact]
    public async Task Without_one_the_sqlite_file_is_used()
    {
        var path = Path.Combine(Path.GetTempPath(), "trainingservice-jobs-tests", "factory.db");
        await using var store = (SqlJobStore)JobStoreFactory.Create(new StorageOptions { PostgresConnectionString = " ", SqlitePath = path });

        var sqlite = Assert.IsType<SqliteJobStore>(store);
        Assert.Equal(path, sqlite.DatabasePath);
    }
}
