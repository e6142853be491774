/**
 * What every NATS request/reply controller is: patterns, not HTTP routes (documented in
 * docs/events.md "Request/reply patterns", not in the OpenAPI document), each authenticated by an API key and held to its
 * REST route's rule (ServiceKeyGuard), answering the REST envelope (service-envelope.ts).
 */
import {
  applyDecorators,
  Controller,
  UseFilters,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { Payload } from '@nestjs/microservices';
import { ApiExcludeController } from '@nestjs/swagger';
import { ServiceEnvelopeFilter, ServiceEnvelopeInterceptor } from './service-envelope';
import { ServiceKeyGuard } from './service-key.guard';
import { ServicePayloadPipe } from './service-messages.dto';

export const ServicePatterns = (): ClassDecorator =>
  applyDecorators(
    ApiExcludeController(),
    Controller(),
    UseGuards(ServiceKeyGuard),
    UseInterceptors(ServiceEnvelopeInterceptor),
    UseFilters(ServiceEnvelopeFilter),
  );

/** The request's JSON payload, validated against the parameter's class as REST parameters are. */
export const Message = (): ParameterDecorator => Payload(ServicePayloadPipe);
