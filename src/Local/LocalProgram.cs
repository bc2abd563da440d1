using TrainingService.Api.Hosting;
using TrainingService.Worker.Hosting;

namespace TrainingService.Local;

/// <summary>
/// The API, the queue and a worker in one process, by default on the embedded store
/// (./data/trainingservice.db): what <c>./scripts/start.sh</c> runs. Set
/// <c>Storage__PostgresConnectionString</c> to run it on PostgreSQL with more workers beside it.
/// </summary>
public static class LocalProgram
{
    public static async Task Main(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddTrainingApi();
        builder.Services.AddTrainingWorker(builder.Configuration);

        var app = builder.Build();
        app.MapTrainingApi();

        await app.PrepareStorageAsync();
        await app.RunAsync();
    }
}
