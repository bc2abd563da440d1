using TrainingService.ServiceDefaults;
using Hangfire;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using TrainingService.Contracts;
using TrainingService.Contracts.Architectures;
using TrainingService.Models.Architectures;
using TrainingService.Worker.Hosting;
using TrainingService.Contracts.Training;

namespace TrainingService.Worker.Tests;

/// <summary>
/// Hangfire keeps one process-wide storage (<c>JobStorage.Current</c>), which the last host to be
/// configured overwrites. Two hosts in one process — the API tests start many at once — must each
/// enqueue into, and count, their own queue nevertheless.
/// </summary>
public sealed class QueueStorageTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("trainingservice-queue-tests-").FullName;

    [Fact]
    public void EachHostEnqueuesIntoItsOwnStorageWhateverHostWasConfiguredLast()
    {
        using var first = Compose("first");
        using var second = Compose("second");
        // The first host is configured, then the second, which makes the second's storage the process-wide one.
        first.GetRequiredService<IGlobalConfiguration>();
        second.GetRequiredService<IGlobalConfiguration>();

        var job = JobRecordForQueue("cpu");
        first.GetRequiredService<IJobDispatcher>().Dispatch(job);

        Assert.NotSame(first.GetRequiredService<JobStorage>(), second.GetRequiredService<JobStorage>());
        Assert.Equal(1, first.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedCount("cpu"));
        Assert.Equal(0, second.GetRequiredService<JobStorage>().GetMonitoringApi().EnqueuedCount("cpu"));
    }

    /// <summary>The queue's composition as the API and the worker make it, on an embedded store of its own.</summary>
    private ServiceProvider Compose(string name)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:SqlitePath"] = Path.Combine(folder, name, "trainingservice.db"),
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddJobQueue(configuration);
        return services.BuildServiceProvider();
    }

    private static JobRecord JobRecordForQueue(string queue) => new()
    {
        Id = Guid.NewGuid(),
        Kind = JobKind.Train,
        Architecture = ArchitectureCatalog.ConvNetName,
        Hyperparameters = ArchitectureCatalog.ConvNet.Defaults,
        Queue = queue,
        CreatedAt = DateTimeOffset.UtcNow,
    };

    public void Dispose()
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
