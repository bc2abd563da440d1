using Microsoft.Extensions.Configuration;
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
        // The host must outwait Hangfire's own shutdown timeout, or it would stop the process
        // while the running job is still recording its last step.
        var shutdown = builder.Configuration.GetSection(WorkerOptions.SectionName).Get<WorkerOptions>()?.ShutdownTimeout ?? new WorkerOptions().ShutdownTimeout;
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = shutdown + TimeSpan.FromSeconds(30));

        using var host = builder.Build();
        await host.Services.GetRequiredService<IJobStore>().MigrateAsync(CancellationToken.None);
        await host.RunAsync();
    }
}
