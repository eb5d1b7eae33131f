import type { CreateTagsCommandInput, CreateTagsCommandOutput, DeleteTagsCommandInput, DeleteTagsCommandOutput } from '@aws-sdk/client-ec2';
import { ec2Error, invalidParameter, requireNonEmptyList } from '../errors.ts';
import { tagsFromList } from '../query.ts';
import type { SimContext } from '../state.ts';
import { findTaggable } from '../world.ts';
import type { Output } from './types.ts';

export function createTags(ctx: SimContext, input: CreateTagsCommandInput): Output<CreateTagsCommandOutput> {
  const targets = requireNonEmptyList(input.Resources, 'Resources').map((id) => findTaggable(ctx, id));
  const tags = tagsFromList(requireNonEmptyList(input.Tags, 'Tags'));
  for (const target of targets) {
    const merged = { ...target.tags, ...tags };
    if (Object.keys(merged).length > 50) throw ec2Error('TagLimitExceeded', 'A resource can have at most 50 tags');
  }
  for (const target of targets) Object.assign(target.tags, tags);
  return {};
}

/** Tags given with a Value delete only on a match; without Tags every (non aws:) tag goes. */
export function deleteTags(ctx: SimContext, input: DeleteTagsCommandInput): Output<DeleteTagsCommandOutput> {
  const targets = requireNonEmptyList(input.Resources, 'Resources').map((id) => findTaggable(ctx, id));
  for (const tag of input.Tags ?? []) {
    if (tag.Key === undefined || tag.Key === '') throw invalidParameter('Tags.Key', 'tag keys must not be empty');
  }
  for (const target of targets) {
    const selection = input.Tags ?? Object.keys(target.tags).map((Key) => ({ Key, Value: undefined }));
    for (const { Key, Value } of selection) {
      if (Key !== undefined && (Value === undefined || target.tags[Key] === Value)) delete target.tags[Key];
    }
  }
  return {};
}
