using TrainingService.Api.Architectures;
using TrainingService.Api.Dashboard;
using TrainingService.Api.Datasets;
using TrainingService.Api.Exports;
using TrainingService.Api.Health;
using TrainingService.Api.Infrastructure;
using TrainingService.Api.Jobs;
using TrainingService.Api.Monitoring;
using TrainingService.Api.Security;
using TrainingService.Api.Sweeps;
using TrainingService.Api.Webhooks;
using TrainingService.Api.Workers;
using OpenTelemetry.Trace;
using TrainingService.ServiceDefaults;

namespace TrainingService.Api.Hosting;

/// <summary>
/// The API's composition: what Program.cs builds, in one place, so that the all-in-one local host
/// (src/Local) composes exactly the same API next to its worker.
/// </summary>
public static class ApiComposition
{
    public static WebApplicationBuilder AddTrainingApi(this WebApplicationBuilder builder)
    {
        builder.AddServiceLogging();
        builder.AddServiceTelemetry(tracing => tracing.AddAspNetCoreInstrumentation());
        builder.Services.AddJobStorage(builder.Configuration);
        builder.Services.AddJobQueue(builder.Configuration);
        builder.Services.AddJobReaper(builder.Configuration);
        builder.Services.AddJobOutbox(builder.Configuration);
        builder.Services.AddSweeps();
        builder.Services.AddWebhooks(builder.Configuration);
        builder.Services.AddDatasets(builder.Configuration);
        builder.Services.AddApiJson();
        builder.Services.AddApiProblemDetails();
        builder.Services.AddApiDocumentation();
        builder.Services.AddApiHealthChecks();
        builder.Services.AddServiceMonitoring(builder.Configuration);
        builder.Services.AddApiSecurity(builder.Configuration);
        return builder;
    }

    public static WebApplication MapTrainingApi(this WebApplication app)
    {
        app.UseRequestMetrics();
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
        app.MapWebhooksEndpoints();
        app.MapDatasetsEndpoints();
        app.MapArchitecturesEndpoints();
        app.MapWorkersEndpoints();
        app.MapHealthEndpoints();
        app.MapMonitoringEndpoints();
        app.MapJobQueueDashboard();
        return app;
    }
}
