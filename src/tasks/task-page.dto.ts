import { ApiProperty } from '@nestjs/swagger';
import { AdminTaskJson } from './task-json.mapper';

export class TaskPageJson {
  @ApiProperty() total!: number;
  @ApiProperty() page!: number;
  @ApiProperty() pageSize!: number;
  @ApiProperty({ type: [AdminTaskJson] }) tasks!: AdminTaskJson[];
}
