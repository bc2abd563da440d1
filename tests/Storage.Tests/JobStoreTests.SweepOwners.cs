using TrainingService.Storage;
using TrainingService.Contracts;

namespace TrainingService.Storage.Tests;

/// <summary>Migration 6 on each engine: sweep owners, the owner filter on the sweep list, and migrating a version-5 database.</summary>
public abstract partial class JobStoreTests
{
    /// <summary>Runs <paramref name="sql"/> on the database directly, outside any store.</summary>
    protected abstract Task ExecuteSqlAsync(string database, string sql);

    /// <summary>A time as this engine's SQL literal for a time column (timestamptz text, or integer microseconds).</summary>
    protected abstract string TimeLiteral(DateTimeOffset time);

    private static SweepRecord OwnedSweep(string? owner, DateTimeOffset createdAt) => NewSweep(createdAt) with { Owner = owner };

    [Fact]
    public async Task A_sweep_keeps_its_owner_and_one_without_reads_back_null()
    {
        var owned = OwnedSweep("alice", T0);
        var anonymous = OwnedSweep(null, T0.AddSeconds(1));
        await Sweeps.CreateSweepAsync(owned, None);
        await Sweeps.CreateSweepAsync(anonymous, None);

        Assert.Equal("alice", (await Sweeps.GetSweepAsync(owned.Id, None))!.Owner);
        Assert.Null((await Sweeps.GetSweepAsync(anonymous.Id, None))!.Owner);
        Assert.Equal([null, "alice"], (await Sweeps.ListOpenSweepsAsync(None)).OrderByDescending(s => s.CreatedAt).Select(s => s.Owner));
    }

    [Fact]
    public async Task Listing_sweeps_by_owner_returns_only_that_owners_newest_first()
    {
        var alice1 = OwnedSweep("alice", T0);
        var bob = OwnedSweep("bob", T0.AddSeconds(1));
        var alice2 = OwnedSweep("alice", T0.AddSeconds(2));
        var ownerless = OwnedSweep(null, T0.AddSeconds(3));
        foreach (var sweep in new[] { alice1, bob, alice2, ownerless })
            await Sweeps.CreateSweepAsync(sweep, None);

        Assert.Equal([alice2.Id, alice1.Id], (await Sweeps.ListSweepsAsync(new SweepQuery(Owner: "alice"), None)).Select(s => s.Id));
        Assert.Equal([alice2.Id], (await Sweeps.ListSweepsAsync(new SweepQuery(Limit: 1, Owner: "alice"), None)).Select(s => s.Id));
        Assert.Equal([bob.Id], (await Sweeps.ListSweepsAsync(new SweepQuery(Owner: "bob"), None)).Select(s => s.Id));
        Assert.Empty(await Sweeps.ListSweepsAsync(new SweepQuery(Owner: "carol"), None));
        Assert.Equal([ownerless.Id, alice2.Id, bob.Id, alice1.Id], (await Sweeps.ListSweepsAsync(new SweepQuery(), None)).Select(s => s.Id));
    }

    [Fact]
    public async Task A_database_at_version_5_migrates_to_sweep_owners_keeping_its_sweeps_and_their_jobs()
    {
        // A database as the release before sweep owners left it: schema version 5, with a sweep and its job.
        var database = await CreateDatabaseAsync();
        var old = Open(database);
        await old.Database.MigrateAsync(throughVersion: 5, None);
        var sweepId = Guid.NewGuid();
        await ExecuteSqlAsync(database, $$"""
            INSERT INTO sweeps (id, name, tags, base_job, grid, points, point_count, max_concurrent, created_at, cancel_requested, cancelled_at)
            VALUES ('{{sweepId:D}}', 'before owners', '["study"]', '{"kind":"train","architecture":"convnet"}',
                    '[{"name":"seed","values":[1,2]}]', '[{"seed":1},{"seed":2}]', 2, 1, {{TimeLiteral(T0)}}, FALSE, NULL)
            """);
        var job = NewJob();
        await InsertJobIntoOldSchemaAsync(old.Database, job);
        Assert.True(await old.Sweeps.AddSweepJobAsync(sweepId, 0, job.Id, None));
        Assert.DoesNotContain("0006-sweep-owners.sql", await AppliedScriptsAsync(database));

        var store = Open(database);
        await store.Database.MigrateAsync(None);

        Assert.Equal(await AppliedScriptsAsync(_database), await AppliedScriptsAsync(database));
        var migrated = await store.Sweeps.GetSweepAsync(sweepId, None);
        Assert.NotNull(migrated);
        Assert.Null(migrated.Owner);
        Assert.Equal("before owners", migrated.Name);
        Assert.Equal(T0, migrated.CreatedAt);
        Assert.Equal([1, 2], migrated.Grid.Single().Values.Select(v => v.GetInt32()));
        Assert.Equal([job.Id], (await store.Sweeps.GetSweepJobsAsync(sweepId, None)).Select(j => j.Job.Id));
        // The new column takes owners, and the old sweep is nobody's.
        var owned = OwnedSweep("alice", T0.AddSeconds(1));
        await store.Sweeps.CreateSweepAsync(owned, None);
        Assert.Equal([owned.Id], (await store.Sweeps.ListSweepsAsync(new SweepQuery(Owner: "alice"), None)).Select(s => s.Id));
        Assert.Equal([owned.Id, sweepId], (await store.Sweeps.ListSweepsAsync(new SweepQuery(), None)).Select(s => s.Id));
    }
}
