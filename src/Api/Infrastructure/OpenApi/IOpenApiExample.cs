namespace TrainingService.Api.Infrastructure.OpenApi;

/// <summary>
/// A wire type that carries its own Swagger example, next to its definition so the two change
/// together. <see cref="SchemaDocumentationFilter"/> puts it on the type's schema.
/// </summary>
public interface IOpenApiExample<TSelf> where TSelf : IOpenApiExample<TSelf>
{
    static abstract TSelf Example { get; }
}
