namespace TrainingService.Api.Webhooks;

public static class WebhooksHosting
{
    /// <summary>
    /// Webhooks: their options (validated at start), the checks on callbacks, the HTTP client they are
    /// sent with, and the outbox that announces ended jobs and sweeps and delivers their events, as a
    /// hosted service of the API (workers never send webhooks).
    /// </summary>
    public static IServiceCollection AddWebhooks(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<WebhooksOptions>()
            .Bind(configuration.GetSection(WebhooksOptions.SectionName))
            // The message names the setting and its allowed range, as JobsApi's do.
            .Validate(options => options.Validate() is { } problem ? throw new InvalidOperationException(problem) : true)
            .ValidateOnStart();
        services.AddSingleton<WebhookValidation>();
        services.AddSingleton<WebhookCallbacks>();
        services.AddWebhookHttpClient();
        services.AddSingleton<WebhookSender>();
        services.AddSingleton<WebhookAnnouncer>();
        services.AddSingleton<WebhookOutbox>();
        services.AddHostedService(provider => provider.GetRequiredService<WebhookOutbox>());
        return services;
    }
}
