using Hangfire;
using Hangfire.Dashboard;
using Microsoft.Extensions.Options;
using Serilog;
using TrainingService.Api.Security;
using TrainingService.Contracts;
using TrainingService.Api.Jobs;
using TrainingService.ServiceDefaults;

namespace TrainingService.Api.Hosting;

public static class ServiceHosting
{
    /// <summary>The sweep that hands jobs of lost workers back to the queue (see <see cref="JobReaper"/>).</summary>
    public static IServiceCollection AddJobReaper(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddWorkerOptions(configuration);
        services.AddHostedService<JobReaper>();
        return services;
    }

    public static WebApplication UseServiceRequestLogging(this WebApplication app)
    {
        app.UseSerilogRequestLogging();
        return app;
    }

    /// <summary>
    /// Hangfire's dashboard at <c>/hangfire</c>: local requests only, unless <c>Dashboard:AllowRemote</c> is
    /// true; then, with authentication on, remote requests need an admin key.
    /// </summary>
    public static WebApplication MapJobQueueDashboard(this WebApplication app)
    {
        var allowRemote = app.Configuration.GetValue<bool>("Dashboard:AllowRemote");
        var authEnabled = app.Services.GetRequiredService<IOptions<AuthOptions>>().Value.IsEnabled;
        app.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [DashboardAccess.DashboardAuthorization(allowRemote, authEnabled)],
            DisplayStorageConnectionString = false,
        });
        return app;
    }

    /// <summary>Creates or upgrades the job store's schema before serving, and says where things are once listening.</summary>
    public static async Task PrepareStorageAsync(this WebApplication app)
    {
        await app.Services.GetRequiredService<IJobDatabase>().MigrateAsync(CancellationToken.None);
        await app.EnsureBootstrapAdminKeyAsync(CancellationToken.None);
        var storage = app.Services.GetRequiredService<IOptions<StorageOptions>>().Value;
        var checkpoints = app.Services.GetRequiredService<IOptions<CheckpointOptions>>().Value;
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var store = storage.UsesPostgres ? "PostgreSQL" : $"the embedded store {Path.GetFullPath(storage.SqlitePath)}";
            foreach (var url in app.Urls)
                app.Logger.LogInformation("TrainingService listening on {Url}; dashboard at {Url}/, Swagger UI at {Url}/swagger", url, url.TrimEnd('/'), url.TrimEnd('/'));
            app.Logger.LogInformation("Jobs are stored in {Store}; checkpoints under {Checkpoints}", store, Path.GetFullPath(checkpoints.Root));
        });
    }
}
