raise 'This migration is irreversible';
