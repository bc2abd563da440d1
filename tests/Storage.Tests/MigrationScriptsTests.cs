using TrainingService.Storage.Migrations;

namespace TrainingService.Storage.Tests;

/// <summary>The migration scripts as embedded: one list, the same on both engines.</summary>
public sealed class MigrationScriptsTests
{
    [Fact]
    public void Both_engines_have_the_same_migrations_in_the_same_order()
    {
        var postgres = MigrationScripts.For("postgresql");
        var sqlite = MigrationScripts.For("sqlite");

        Assert.Equal(postgres.Select(s => (s.Version, s.Name)), sqlite.Select(s => (s.Version, s.Name)));
        Assert.Equal(postgres.Select(s => s.Version).Order(), postgres.Select(s => s.Version));
        Assert.Equal(postgres.Count, postgres.Select(s => s.Version).Distinct().Count());
        Assert.All(postgres.Concat(sqlite), s => Assert.Matches(@"^\d{4}-[a-z0-9-]+\.sql$", s.Name));
        Assert.All(postgres.Concat(sqlite), s => Assert.False(string.IsNullOrWhiteSpace(s.Sql)));
    }

    [Fact]
    public void The_versions_the_release_before_DbUp_recorded_keep_their_numbers()
    {
        // LegacyVersionJournal takes schema_version's versions as these scripts' numbers.
        var scripts = MigrationScripts.For("sqlite").ToDictionary(s => s.Version, s => s.Name);

        Assert.Equal("0001-jobs-epochs-checkpoints-logs-workers.sql", scripts[1]);
        Assert.Equal("0002-job-owners-and-api-keys.sql", scripts[2]);
        Assert.Equal("0003-dispatch-outbox.sql", scripts[3]);
        Assert.False(scripts.ContainsKey(4));
        Assert.Equal("0005-sweeps.sql", scripts[5]);
        Assert.Equal("0006-sweep-owners.sql", scripts[6]);
    }

    [Fact]
    public void A_script_shared_by_both_engines_is_the_same_text_on_both()
    {
        var postgres = MigrationScripts.For("postgresql").Single(s => s.Version == 6);
        var sqlite = MigrationScripts.For("sqlite").Single(s => s.Version == 6);

        Assert.Equal(postgres.Sql, sqlite.Sql);
        Assert.Throws<ArgumentOutOfRangeException>(() => MigrationScripts.For("mysql"));
    }
}
