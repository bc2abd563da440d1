using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using TrainingService.Contracts;
using TrainingService.ServiceDefaults;
using TrainingService.Worker.Hosting;

namespace TrainingService.Worker;

/// <summary>The standalone worker process: a Hangfire server running training jobs from the shared PostgreSQL queue.</summary>
public static class WorkerProgram
{
    public static async Task Main(string[] args)
    {
        var builder = Host.CreateApplicationBuilder(args);
        builder.AddServiceLogging();
        builder.AddServiceTelemetry();
        builder.Services.AddJobStorage(builder.Configuration);
        builder.Services.AddJobQueue(builder.Configuration);
        builder.Services.AddTrainingWorker(builder.Configuration);

        using var host = builder.Build();
        var state = host.Services.GetRequiredService<WorkerState>();
        if (state.StartupProblem is { } problem)
        {
            // Said once, plainly, and a non-zero exit: an orchestrator shows the pod failing with this line.
            host.Services.GetRequiredService<ILogger<WorkerState>>().LogCritical("Worker {Worker} refuses to start: {Problem}", state.Name, problem);
            Environment.ExitCode = 1;
            return;
        }
        await host.Services.GetRequiredService<IJobDatabase>().MigrateAsync(CancellationToken.None);
        await host.RunAsync();
    }
}
