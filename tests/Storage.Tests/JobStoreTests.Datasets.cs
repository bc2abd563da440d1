using TrainingService.Contracts;
using TrainingService.Contracts.Datasets;

namespace TrainingService.Storage.Tests;

/// <summary>Migrations 30 and 31 on each engine: a job's dataset, the uploaded datasets' records, and deleting one only while no unfinished job uses it.</summary>
public abstract partial class JobStoreTests
{
    private IDatasetStore Datasets => new SqlDatasetStore(Database);

    /// <summary>
    /// Stores a job as the releases before migration 30 did, in the columns their schema had: the
    /// current stores write columns added since, so a database migrated only part-way is filled this way.
    /// </summary>
    private static async Task<Guid> InsertJobIntoOldSchemaAsync(JobDatabase database, JobRecord job)
    {
        await database.ExecuteAsync($"""
            INSERT INTO jobs (id, kind, architecture, status, name, tags, hyperparameters, queue, created_at, attempt, cancel_requested, owner)
            VALUES (@Id, @Kind, @Architecture, @Status, @Name, {database.Json("@Tags")}, {database.Json("@Hyperparameters")}, @Queue, @CreatedAt, 0, FALSE, @Owner)
            """, new
        {
            Id = database.Id(job.Id),
            Kind = JobRow.Text(job.Kind),
            job.Architecture,
            Status = JobRow.Text(job.Status),
            job.Name,
            Tags = JobStoreJson.Serialize(job.Tags),
            Hyperparameters = JobStoreJson.Serialize(job.Hyperparameters),
            job.Queue,
            CreatedAt = database.Time(job.CreatedAt),
            job.Owner,
        }, None);
        return job.Id;
    }

    private static DatasetRecord NewDataset(string? owner, DateTimeOffset createdAt, string? name = "digits subset")
    {
        IdxFileInfo[] files =
        [
            new(IdxFileNames.TrainImages, IdxFileKind.Images, DatasetSplit.Train, 600, 16 + 600 * 784, Sha256: new string('a', 64)),
            new(IdxFileNames.TrainLabels, IdxFileKind.Labels, DatasetSplit.Train, 600, 8 + 600, Sha256: new string('b', 64)),
            new(IdxFileNames.TestImages, IdxFileKind.Images, DatasetSplit.Test, 100, 16 + 100 * 784, Sha256: new string('c', 64)),
            new(IdxFileNames.TestLabels, IdxFileKind.Labels, DatasetSplit.Test, 100, 8 + 100, Sha256: new string('d', 64)),
        ];
        return new DatasetRecord
        {
            Id = Guid.CreateVersion7(createdAt),
            Name = name,
            Owner = owner,
            Geometry = ImageGeometry.Mnist,
            ClassNames = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
            Files = files,
            Digest = DatasetRecord.DigestOf(files),
            CreatedAt = createdAt,
        };
    }

    [Fact]
    public async Task A_dataset_record_round_trips_and_lists_by_owner_newest_first()
    {
        var alice1 = NewDataset("alice", T0);
        var bob = NewDataset("bob", T0.AddSeconds(1)) with { ClassNames = null, Name = null };
        var alice2 = NewDataset("alice", T0.AddSeconds(2)) with { Geometry = new ImageGeometry(32, 16, 1, 3) };
        foreach (var dataset in new[] { alice1, bob, alice2 })
            await Datasets.CreateDatasetAsync(dataset, None);

        Assert.Equal(Json(alice1), Json(await Datasets.GetDatasetAsync(alice1.Id, None)));
        Assert.Equal(Json(bob), Json(await Datasets.GetDatasetAsync(bob.Id, None)));
        Assert.Equal(new ImageGeometry(32, 16, 1, 3), (await Datasets.GetDatasetAsync(alice2.Id, None))!.Geometry);
        Assert.Null(await Datasets.GetDatasetAsync(Guid.NewGuid(), None));
        Assert.Equal([alice2.Id, alice1.Id], (await Datasets.ListDatasetsAsync("alice", 10, None)).Select(d => d.Id));
        Assert.Equal([alice2.Id], (await Datasets.ListDatasetsAsync("alice", 1, None)).Select(d => d.Id));
        Assert.Equal([alice2.Id, bob.Id, alice1.Id], (await Datasets.ListDatasetsAsync(null, 10, None)).Select(d => d.Id));
        Assert.Empty(await Datasets.ListDatasetsAsync("carol", 10, None));
    }

    [Fact]
    public async Task A_job_keeps_the_dataset_it_names_and_one_that_names_none_trains_on_mnist()
    {
        var upload = NewDataset(null, T0);
        var onUpload = await CreateAsync(NewJob() with { Dataset = upload.JobName });
        var onFashion = await CreateAsync(NewJob(createdAt: T0.AddSeconds(1)) with { Dataset = DatasetCatalog.FashionMnistName });
        var unnamed = await CreateAsync(NewJob(createdAt: T0.AddSeconds(2)));

        Assert.Equal(upload.Id.ToString("D"), (await GetAsync(onUpload.Id)).Dataset);
        Assert.Equal("fashion-mnist", (await GetAsync(onFashion.Id)).Dataset);
        Assert.Equal("mnist", (await GetAsync(unnamed.Id)).Dataset);
        Assert.Equal("mnist", unnamed.Dataset);
    }

    [Fact]
    public async Task A_dataset_is_deleted_only_once_no_unfinished_job_names_it()
    {
        var dataset = NewDataset("alice", T0);
        await Datasets.CreateDatasetAsync(dataset, None);
        var job = await CreateAsync(NewJob() with { Dataset = dataset.JobName });
        // A finished job of another dataset, and an unfinished one on MNIST, change nothing.
        await CreateAsync(NewJob(createdAt: T0.AddSeconds(1)));

        Assert.Equal(1, await Datasets.CountUnfinishedJobsUsingAsync(dataset.JobName, None));
        Assert.Equal(DatasetDeleteOutcome.InUse, await Datasets.DeleteDatasetAsync(dataset.Id, None));
        Assert.NotNull(await Datasets.GetDatasetAsync(dataset.Id, None));

        // Running still uses it; once it has ended, nothing does.
        var lease = Guid.NewGuid();
        Assert.NotNull(await Store.TryStartAttemptAsync(job.Id, lease, "worker-1", "cpu", T0, T0.AddSeconds(-30), None));
        Assert.Equal(DatasetDeleteOutcome.InUse, await Datasets.DeleteDatasetAsync(dataset.Id, None));
        Assert.True(await Store.FinishAttemptAsync(job.Id, lease, JobStatus.Succeeded, TerminationReason.Succeeded, new JobResult(0.9, 0.1, 0.9, 0.1, 1, null, null), null, T0.AddSeconds(5), None));

        Assert.Equal(0, await Datasets.CountUnfinishedJobsUsingAsync(dataset.JobName, None));
        Assert.Equal(DatasetDeleteOutcome.Deleted, await Datasets.DeleteDatasetAsync(dataset.Id, None));
        Assert.Null(await Datasets.GetDatasetAsync(dataset.Id, None));
        Assert.Equal(DatasetDeleteOutcome.NotFound, await Datasets.DeleteDatasetAsync(dataset.Id, None));
        // The finished job still says what it trained on.
        Assert.Equal(dataset.JobName, (await GetAsync(job.Id)).Dataset);
    }

    [Fact]
    public async Task Every_job_of_the_release_before_DbUp_trained_on_mnist_after_the_upgrade()
    {
        var database = await CreateReleaseBeforeDbUpAsync();
        var store = Open(database);
        await store.Database.MigrateAsync(None);

        var jobs = await store.Jobs.ListAsync(new JobQuery(Limit: 100), None);
        Assert.NotEmpty(jobs);
        Assert.All(jobs, job => Assert.Equal(DatasetCatalog.MnistName, job.Dataset));
        Assert.Empty(await new SqlDatasetStore(store.Database).ListDatasetsAsync(null, 10, None));
    }
}
