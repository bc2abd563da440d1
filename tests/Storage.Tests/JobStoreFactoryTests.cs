using Npgsql;
using TrainingService.Storage;
using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

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

    [Fact]
    public void The_postgres_store_caps_its_pool_prepares_statements_and_skips_the_reset_by_default()
    {
        var defaults = new NpgsqlConnectionStringBuilder(PostgresJobStore.WithStoreDefaults("Host=db;Username=ts;Password=secret"));

        Assert.Equal(PostgresJobStore.DefaultMaxPoolSize, defaults.MaxPoolSize);
        Assert.Equal(32, defaults.MaxAutoPrepare);
        Assert.True(defaults.NoResetOnClose);
        Assert.Equal(("db", "ts", "secret"), (defaults.Host, defaults.Username, defaults.Password));
    }

    [Theory]
    [InlineData("Host=db;Maximum Pool Size=100;Max Auto Prepare=0;No Reset On Close=false")]
    [InlineData("Host=db;maxpoolsize=100;MAXAUTOPREPARE=0;noresetonclose=false")]
    public void What_the_connection_string_names_is_kept_in_any_spelling(string connectionString)
    {
        var kept = new NpgsqlConnectionStringBuilder(PostgresJobStore.WithStoreDefaults(connectionString));

        Assert.Equal((100, 0, false), (kept.MaxPoolSize, kept.MaxAutoPrepare, kept.NoResetOnClose));
    }

    [Fact]
    public void A_minimum_pool_size_above_the_default_cap_raises_the_cap_to_it()
    {
        var raised = new NpgsqlConnectionStringBuilder(PostgresJobStore.WithStoreDefaults("Host=db;Minimum Pool Size=40"));

        Assert.Equal((40, 40), (raised.MinPoolSize, raised.MaxPoolSize));
    }
}
