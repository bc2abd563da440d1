using TrainingService.Api.Hosting;

// The API process: it stores and enqueues jobs and serves their records; workers (src/Worker) run
// them. The all-in-one local host (src/Local, ./scripts/start.sh) composes the same API with a worker.
var builder = WebApplication.CreateBuilder(args);
builder.AddTrainingApi();

var app = builder.Build();
app.MapTrainingApi();

await app.PrepareStorageAsync();
await app.RunAsync();

/// <summary>The API's entry point, named so integration tests can host it.</summary>
public partial class Program;
