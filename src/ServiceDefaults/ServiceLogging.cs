using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog;
using Serilog.Events;
using Serilog.Formatting.Compact;
using TrainingService.Contracts;

namespace TrainingService.ServiceDefaults;

public static class ServiceLogging
{
    /// <summary>
    /// Serilog for the whole process: structured events with their log context (a job's
    /// <c>JobId</c> rides on everything it does), human-readable console output by default or
    /// compact JSON when <c>Logging:Format</c> is <c>json</c> (containers), and a copy of every
    /// job's events in its log in the store.
    /// </summary>
    public static TBuilder AddServiceLogging<TBuilder>(this TBuilder builder) where TBuilder : IHostApplicationBuilder
    {
        var json = string.Equals(builder.Configuration["Logging:Format"], "json", StringComparison.OrdinalIgnoreCase);
        builder.Services.AddSingleton(sp => new JobLogSink(sp.GetRequiredService<IJobLogStore>));
        builder.Services.AddSerilog((services, logger) =>
        {
            logger.MinimumLevel.Information()
                .MinimumLevel.Override("Microsoft.AspNetCore", LogEventLevel.Warning)
                .MinimumLevel.Override("Microsoft.Extensions.Http", LogEventLevel.Warning)
                .MinimumLevel.Override("Hangfire", LogEventLevel.Warning)
                .Enrich.FromLogContext()
                .WriteTo.Sink(services.GetRequiredService<JobLogSink>());
            if (json)
                logger.WriteTo.Console(new RenderedCompactJsonFormatter());
            else
                logger.WriteTo.Console(outputTemplate: "[{Timestamp:HH:mm:ss} {Level:u3}] {Message:lj}{NewLine}{Exception}");
        });
        return builder;
    }
}
