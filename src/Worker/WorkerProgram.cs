using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using TrainingService.Jobs;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker;

/// <summary>The standalone worker process: a Hangfire server running training jobs from the shared PostgreSQL queue.</summary>
public static class WorkerProgram
{
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.AddServiceLogging();
        builder.Services.AddJobStorage(builder.Configuration);
        builder.Services.AddJobQueue(builder.Configuration);
        builder.Services.AddTrainingWorker(builder.Configuration);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(90));

        using var host = builder.Build();
        await host.Services.GetRequiredService<IJobStore>().MigrateAsync(CancellationToken.None);
        await host.RunAsync();
    }
}
