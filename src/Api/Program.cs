using TrainingService.Api.Architectures;
using TrainingService.Api.Dashboard;
using TrainingService.Api.Exports;
using TrainingService.Api.Health;
using TrainingService.Api.Hosting;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Api.Monitoring;
using TrainingService.Api.Security;
using TrainingService.Api.Sweeps;
using TrainingService.Api.Workers;
using TrainingService.Worker.Hosting;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceLogging();
builder.Services.AddJobStorage(builder.Configuration);
builder.Services.AddJobQueue(builder.Configuration);
builder.Services.AddInProcessWorker(builder.Configuration);
builder.Services.AddJobReaper(builder.Configuration);
builder.Services.AddJobOutbox(builder.Configuration);
builder.Services.AddSweeps();
builder.Services.AddApiJson();
builder.Services.AddApiProblemDetails();
builder.Services.AddApiDocumentation();
builder.Services.AddApiHealthChecks();
builder.Services.AddServiceMonitoring();
builder.Services.AddApiSecurity(builder.Configuration);

var app = builder.Build();

app.UseRequestLatencies();
app.UseApiErrorHandling();
app.UseServiceRequestLogging();
app.UseSecurityHeaders();
// The dashboard's pages load without a key (they hold no data); the API calls they make carry one.
app.UseDashboard();
app.UseApiSecurity();
app.MapApiDocumentation();
app.MapJobsEndpoints();
app.MapExportEndpoints();
app.MapSweepsEndpoints();
app.MapArchitecturesEndpoints();
app.MapWorkersEndpoints();
app.MapHealthEndpoints();
app.MapMonitoringEndpoints();
app.MapJobQueueDashboard();

await app.PrepareStorageAsync();
await app.RunAsync();

/// <summary>The API's entry point, named so integration tests can host it.</summary>
public partial class Program;
