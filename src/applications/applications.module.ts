/** Applications: the web apps that scan tasks target and scan results belong to. */
import { Module } from '@nestjs/common';
import { ApplicationsController } from './applications.controller';
import { ApplicationsService } from './applications.service';
import { ThreadFixApplicationsController } from './threadfix-applications.controller';
import { ThreadFixApplicationsService } from './threadfix-applications.service';

@Module({
  controllers: [ApplicationsController, ThreadFixApplicationsController],
  providers: [ApplicationsService, ThreadFixApplicationsService],
  exports: [ApplicationsService, ThreadFixApplicationsService],
})
export class ApplicationsModule {}
