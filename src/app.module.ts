import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ApplicationsModule } from './applications/applications.module';
import { AuthModule } from './auth/auth.module';
import { AppConfig } from './config/app-config';
import { ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { EdgeModule } from './edge/edge.module';
import { HealthModule } from './health/health.module';
import { ObservabilityModule } from './observability/observability.module';
import { EventsModule } from './events/events.module';
import { NatsServicesModule } from './nats/nats.module';
import { ImportsModule } from './imports/imports.module';
import { ScanAgentsModule } from './scan-agents/scan-agents.module';
import { ScannerQueuesModule } from './scanner-queues/scanner-queues.module';
import { ScansModule } from './scans/scans.module';
import { SchedulesModule } from './schedules/schedules.module';
import { StorageModule } from './storage/storage.module';
import { TasksModule } from './tasks/tasks.module';
import { TeamsModule } from './teams/teams.module';
import { ThreadFixAdminModule } from './threadfix-admin/threadfix-admin.module';
import { EnvelopeInterceptor } from './rest/envelope.interceptor';
import { RestExceptionFilter } from './rest/rest-exception.filter';
import { restValidationPipe } from './rest/rest-params';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot(config),
        DatabaseModule,
        StorageModule,
        AuthModule,
        TeamsModule,
        ApplicationsModule,
        ScanAgentsModule,
        ScansModule,
        TasksModule,
        ScannerQueuesModule,
        SchedulesModule,
        HealthModule.forRoot(config),
        ObservabilityModule,
        EventsModule,
        NatsServicesModule,
        ImportsModule,
        ThreadFixAdminModule,
        EdgeModule,
      ],
      providers: [
        { provide: APP_PIPE, useFactory: restValidationPipe },
        { provide: APP_FILTER, useClass: RestExceptionFilter },
        { provide: APP_INTERCEPTOR, useClass: EnvelopeInterceptor },
      ],
    };
  }
}
